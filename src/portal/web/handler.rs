//! One request: a redirect to the portal for anything that is not the portal, the pages,
//! `logon.cgi` and the RFC 8908 API.

use std::net::Ipv4Addr;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, LOCATION,
};
use hyper::{Method, Request, Response, StatusCode, Uri};

use super::pages::{self, Page, Vars};
use super::server::Shared;
use super::{Logon, Site, UrlParam};

type Reply = Response<Full<Bytes>>;

pub(super) async fn handle(shared: &Shared, client: Ipv4Addr, req: Request<Incoming>) -> Reply {
    shared.stats.request();
    let site = shared.site.borrow().clone();
    let host = request_host(&req);
    let path = req.uri().path().to_string();
    if !is_portal(&site, host.as_deref(), &path) {
        shared.stats.redirect();
        return redirect(shared, &site, client, host.as_deref(), req.uri());
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let rest = &path["/portal".len()..];
    let method = req.method().clone();
    let readable = method == Method::GET || method == Method::HEAD;
    match rest {
        // Relative links on the pages (`logon.cgi`) need the trailing slash.
        "" => {
            let mut to = "/portal/".to_string();
            if !query.is_empty() {
                to = format!("{to}?{query}");
            }
            found(StatusCode::MOVED_PERMANENTLY, &to)
        }
        "/logon.cgi" if method == Method::POST => {
            logon_cgi(shared, &site, client, query, req).await
        }
        "/logon.cgi" => {
            shared.stats.bad_request();
            let mut reply = text(StatusCode::METHOD_NOT_ALLOWED, "logon.cgi takes a POST.\n");
            reply
                .headers_mut()
                .insert("allow", HeaderValue::from_static("POST"));
            reply
        }
        "/api" if readable => api(shared, &site, client),
        "/" if readable => {
            let online = shared.gate.online(client);
            let vars = Vars {
                query,
                username: online
                    .as_ref()
                    .map(|o| o.username.clone())
                    .unwrap_or_default(),
                seconds_remaining: online.as_ref().and_then(|o| o.seconds_remaining),
                ..Vars::default()
            };
            let page = if online.is_some() {
                Page::Online
            } else {
                Page::Logon
            };
            page_reply(&site, page, &vars).await
        }
        name if readable => match Page::by_name(&name[1..]) {
            Some(page) => {
                let online = shared.gate.online(client);
                let vars = Vars {
                    original_url: original_url(&site, &query),
                    query,
                    username: online
                        .as_ref()
                        .map(|o| o.username.clone())
                        .unwrap_or_default(),
                    seconds_remaining: online.as_ref().and_then(|o| o.seconds_remaining),
                    ..Vars::default()
                };
                page_reply(&site, page, &vars).await
            }
            None => text(StatusCode::NOT_FOUND, "No such page.\n"),
        },
        _ => {
            shared.stats.bad_request();
            text(
                StatusCode::METHOD_NOT_ALLOWED,
                "Only GET, HEAD and POST to logon.cgi.\n",
            )
        }
    }
}

/// The host the client asked for (without port), from `Host` or an absolute request URI.
fn request_host(req: &Request<Incoming>) -> Option<String> {
    if let Some(authority) = req.uri().authority() {
        return Some(authority.as_str().to_string());
    }
    req.headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

fn host_only(authority: &str) -> &str {
    // `[v6]:port`, `name:port`, `name`.
    if let Some(end) = authority.find(']') {
        return &authority[..=end];
    }
    authority.split(':').next().unwrap_or(authority)
}

/// The portal's own pages: `/portal` and below, on the portal's host (or without a Host).
/// Everything else, whatever the host, is a captive client's request to redirect.
fn is_portal(site: &Site, host: Option<&str>, path: &str) -> bool {
    if path != "/portal" && !path.starts_with("/portal/") {
        return false;
    }
    let Some(host) = host else { return true };
    let portal_host = site
        .portal_url
        .parse::<Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_string));
    portal_host.is_some_and(|p| p.eq_ignore_ascii_case(host_only(host)))
}

/// 302 to the portal URL with the configured url-parameters (`portal web-server NAME`,
/// `url-parameter`), in their configured order.
fn redirect(
    shared: &Shared,
    site: &Site,
    client: Ipv4Addr,
    host: Option<&str>,
    uri: &Uri,
) -> Reply {
    let mut params = form_urlencoded::Serializer::new(String::new());
    for (name, kind) in &site.url_parameters {
        let value = match kind {
            UrlParam::OriginalUrl => {
                let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                match host {
                    Some(h) => format!("http://{h}{path}"),
                    None => String::new(),
                }
            }
            UrlParam::SourceAddress => client.to_string(),
            UrlParam::SourceMac => shared.gate.mac_of(client).map(h_h_h).unwrap_or_default(),
        };
        params.append_pair(name, &value);
    }
    let params = params.finish();
    let location = if params.is_empty() {
        site.portal_url.clone()
    } else if site.portal_url.contains('?') {
        format!("{}&{params}", site.portal_url)
    } else {
        format!("{}?{params}", site.portal_url)
    };
    // The connection stays open for more requests (probes and redirects come in bursts); a
    // logon closes it (`Shared::close_connections_of`), since DNAT sent it here for good.
    found(StatusCode::FOUND, &location)
}

/// Comware's MAC form, `000d-88f8-0eab`.
fn h_h_h(mac: [u8; 6]) -> String {
    format!(
        "{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

/// The original URL carried in a page's query by the redirect, if an `original-url`
/// parameter is configured.
fn original_url(site: &Site, query: &str) -> Option<String> {
    let (name, _) = site
        .url_parameters
        .iter()
        .find(|(_, kind)| *kind == UrlParam::OriginalUrl)?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

enum BodyError {
    TooLarge,
    Timeout,
    Broken,
}

async fn read_body(shared: &Shared, req: Request<Incoming>) -> Result<Bytes, BodyError> {
    let max = shared.limits.max_body_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge);
    }
    let limited = Limited::new(req.into_body(), max);
    match tokio::time::timeout(shared.limits.body_timeout, limited.collect()).await {
        Err(_) => Err(BodyError::Timeout),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Ok(Err(_)) => Err(BodyError::Broken),
    }
}

/// POST `logon.cgi`: `PtUser`, `PtPwd`, `PtButton=Logon|Logoff` (H3C's fields).
async fn logon_cgi(
    shared: &Shared,
    site: &Site,
    client: Ipv4Addr,
    query: String,
    req: Request<Incoming>,
) -> Reply {
    shared.stats.logon_post();
    let body = match read_body(shared, req).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            shared.stats.too_large();
            return closing(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is too large.\n",
            ));
        }
        Err(BodyError::Timeout) => {
            shared.stats.timeout();
            return closing(text(
                StatusCode::REQUEST_TIMEOUT,
                "The form came too slowly.\n",
            ));
        }
        Err(BodyError::Broken) => {
            shared.stats.bad_request();
            return closing(text(
                StatusCode::BAD_REQUEST,
                "The form did not arrive whole.\n",
            ));
        }
    };
    let (mut user, mut password, mut button) = (None, None, None);
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "PtUser" => user = Some(v.into_owned()),
            "PtPwd" => password = Some(v.into_owned()),
            "PtButton" => button = Some(v.into_owned()),
            _ => {}
        }
    }
    let mut vars = Vars {
        original_url: original_url(site, &query),
        query,
        ..Vars::default()
    };
    match button.as_deref() {
        Some("Logon") => {
            let (user, password) = (user.unwrap_or_default(), password.unwrap_or_default());
            if user.is_empty() || password.is_empty() {
                vars.message = "Enter a username and a password.".into();
                return page_reply(site, Page::LogonFail, &vars).await;
            }
            // In its own task: a browser that gives up does not cancel a login half-way
            // (the driver journals it, installs it, and the user is online either way).
            let login = tokio::spawn(shared.gate.logon(client, user, password));
            match login.await {
                Ok(Logon::Success(online)) => {
                    shared.close_connections_of(client);
                    vars.username = online.username;
                    vars.seconds_remaining = online.seconds_remaining;
                    page_reply(site, Page::LogonSuccess, &vars).await
                }
                Ok(Logon::Failed(why)) => {
                    vars.message = why;
                    page_reply(site, Page::LogonFail, &vars).await
                }
                Err(e) => {
                    tracing::error!("portal logon from {client} failed inside the device: {e}");
                    vars.message = "The device could not complete the logon; try again.".into();
                    page_reply(site, Page::LogonFail, &vars).await
                }
            }
        }
        Some("Logoff") => {
            let logoff = tokio::spawn(shared.gate.logoff(client));
            if let Err(e) = logoff.await {
                tracing::error!("portal logoff from {client} failed inside the device: {e}");
            }
            page_reply(site, Page::LogoffSuccess, &vars).await
        }
        _ => {
            shared.stats.bad_request();
            text(
                StatusCode::BAD_REQUEST,
                "The form needs PtButton=Logon (with PtUser and PtPwd) or PtButton=Logoff.\n",
            )
        }
    }
}

/// RFC 8908 section 5: the captive-portal API's JSON.
fn api(shared: &Shared, site: &Site, client: Ipv4Addr) -> Reply {
    let online = shared.gate.online(client);
    let mut body = serde_json::json!({
        "captive": online.is_none(),
        "user-portal-url": site.portal_url,
    });
    if let Some(seconds) = online.and_then(|o| o.seconds_remaining) {
        body["seconds-remaining"] = seconds.into();
    }
    reply(
        StatusCode::OK,
        "application/captive+json",
        body.to_string().into(),
    )
}

async fn page_reply(site: &Site, page: Page, vars: &Vars) -> Reply {
    let html = pages::render(page, site.pages.as_deref(), vars).await;
    reply(StatusCode::OK, "text/html; charset=utf-8", html.into())
}

fn found(status: StatusCode, location: &str) -> Reply {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><title>Log on</title><p><a href=\"{0}\">Log on to the network</a></p></html>\n",
        pages::escape(location)
    );
    let mut reply = reply(status, "text/html; charset=utf-8", body.into());
    match HeaderValue::from_str(location) {
        Ok(v) => {
            reply.headers_mut().insert(LOCATION, v);
        }
        // Only a configured portal URL with bytes a header cannot hold gets here.
        Err(_) => tracing::warn!("portal URL {location:?} cannot be sent in a Location header"),
    }
    reply
}

/// After a body we stopped reading, the connection cannot carry another request.
fn closing(mut reply: Reply) -> Reply {
    reply
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    reply
}

fn text(status: StatusCode, body: &'static str) -> Reply {
    reply(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

/// Every answer is `no-store`: a browser or proxy must never keep a redirect or a login
/// page for a URL that works once the client is logged in.
fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Reply {
    let mut reply = Response::new(Full::new(body));
    *reply.status_mut() = status;
    let headers = reply.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            portal_url: "http://10.1.1.1/portal/".into(),
            url_parameters: vec![("userurl".into(), UrlParam::OriginalUrl)],
            pages: None,
        }
    }

    #[test]
    fn only_the_portal_host_gets_pages() {
        let site = site();
        assert!(is_portal(&site, Some("10.1.1.1"), "/portal/"));
        assert!(is_portal(&site, Some("10.1.1.1:80"), "/portal/logon.cgi"));
        assert!(is_portal(&site, None, "/portal"));
        assert!(!is_portal(&site, Some("example.test"), "/portal/"));
        assert!(!is_portal(&site, Some("10.1.1.1"), "/portalx"));
        assert!(!is_portal(&site, Some("10.1.1.1"), "/"));
    }

    #[test]
    fn original_url_comes_from_the_configured_parameter() {
        let site = site();
        assert_eq!(
            original_url(&site, "userurl=http%3A%2F%2Fexample.test%2Fa%3Fb%3Dc&x=1").as_deref(),
            Some("http://example.test/a?b=c")
        );
        assert_eq!(original_url(&site, "x=1"), None);
        assert_eq!(h_h_h([0, 0x0d, 0x88, 0xf8, 0x0e, 0xab]), "000d-88f8-0eab");
    }
}
