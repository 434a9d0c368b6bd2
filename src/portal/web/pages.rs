//! The login pages: H3C's names and form fields, built in or from an operator's directory.
//!
//! The contract with an operator's directory (`Site::pages`, documented in docs/portal.md,
//! "Your own pages"): it holds `logon.htm`, `logonSuccess.htm`, `logonFail.htm`, `online.htm`
//! and `logoffSuccess.htm`; a missing or unreadable file falls back to the built-in page. Files
//! are served as they are, except these placeholders, replaced by HTML-escaped values:
//! `{{query}}` (the query string of the page's URL, with its `?`, so a form posting to
//! `logon.cgi{{query}}` keeps the redirect's parameters without JavaScript), `{{message}}`
//! (why a logon failed), `{{username}}`, `{{original_url}}` (the page the client first asked
//! for; empty when unknown or not http/https) and `{{seconds_remaining}}` (empty without a
//! session limit).

use std::path::Path;

/// The pages, by their H3C file names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Page {
    Logon,
    LogonSuccess,
    LogonFail,
    Online,
    LogoffSuccess,
}

impl Page {
    pub(super) fn file_name(self) -> &'static str {
        match self {
            Page::Logon => "logon.htm",
            Page::LogonSuccess => "logonSuccess.htm",
            Page::LogonFail => "logonFail.htm",
            Page::Online => "online.htm",
            Page::LogoffSuccess => "logoffSuccess.htm",
        }
    }

    pub(super) fn by_name(name: &str) -> Option<Page> {
        [
            Page::Logon,
            Page::LogonSuccess,
            Page::LogonFail,
            Page::Online,
            Page::LogoffSuccess,
        ]
        .into_iter()
        .find(|p| p.file_name() == name)
    }
}

/// What a page shows; every value is escaped when it is put in.
#[derive(Debug, Default)]
pub(super) struct Vars {
    /// The request's raw query string, without `?` (empty when none).
    pub query: String,
    pub message: String,
    pub username: String,
    /// Only http and https URLs are ever put in a link (no `javascript:`).
    pub original_url: Option<String>,
    pub seconds_remaining: Option<u64>,
}

impl Vars {
    fn query_suffix(&self) -> String {
        if self.query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.query)
        }
    }

    fn safe_original_url(&self) -> Option<&str> {
        self.original_url
            .as_deref()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    }
}

/// The page's HTML: the operator's file when there is a directory and the file reads, else
/// the built-in one.
pub(super) async fn render(page: Page, dir: Option<&Path>, vars: &Vars) -> String {
    if let Some(dir) = dir {
        let path = dir.join(page.file_name());
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => return substitute(&text, vars),
            Err(e) => tracing::warn!(
                "portal page {} unreadable ({e}); serving the built-in page",
                path.display()
            ),
        }
    }
    built_in(page, vars)
}

fn substitute(text: &str, vars: &Vars) -> String {
    text.replace("{{query}}", &escape(&vars.query_suffix()))
        .replace("{{message}}", &escape(&vars.message))
        .replace("{{username}}", &escape(&vars.username))
        .replace(
            "{{original_url}}",
            &escape(vars.safe_original_url().unwrap_or("")),
        )
        .replace(
            "{{seconds_remaining}}",
            &vars
                .seconds_remaining
                .map(|s| s.to_string())
                .unwrap_or_default(),
        )
}

/// HTML escaping for text and double-quoted attribute values.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Small, readable on a phone (viewport, one column, large controls), usable without
/// JavaScript or any resource from elsewhere (a captive client reaches nothing else).
fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>\n\
         body{{font-family:system-ui,sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}\n\
         label,input,button{{display:block;width:100%;box-sizing:border-box;font-size:1.1rem}}\n\
         input{{margin:.2rem 0 1rem;padding:.5rem}}\n\
         button{{padding:.7rem;margin-top:.5rem}}\n\
         .error{{color:#a00000;font-weight:bold}}\n\
         </style>\n</head>\n<body>\n<main>\n<h1>{title}</h1>\n{body}</main>\n</body>\n</html>\n"
    )
}

fn logon_form(vars: &Vars) -> String {
    format!(
        "<form method=\"post\" action=\"logon.cgi{}\">\n\
         <label for=\"PtUser\">Username</label>\n\
         <input id=\"PtUser\" name=\"PtUser\" autocomplete=\"username\" required>\n\
         <label for=\"PtPwd\">Password</label>\n\
         <input id=\"PtPwd\" name=\"PtPwd\" type=\"password\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\" name=\"PtButton\" value=\"Logon\">Log on</button>\n\
         </form>\n",
        escape(&vars.query_suffix())
    )
}

fn logoff_form() -> &'static str {
    "<form method=\"post\" action=\"logon.cgi\">\n\
     <button type=\"submit\" name=\"PtButton\" value=\"Logoff\">Log off</button>\n\
     </form>\n"
}

fn session_line(vars: &Vars) -> String {
    match vars.seconds_remaining {
        Some(s) => format!(
            "<p>Time left in this session: {} min.</p>\n",
            s.div_ceil(60)
        ),
        None => String::new(),
    }
}

fn built_in(page: Page, vars: &Vars) -> String {
    match page {
        Page::Logon => layout(
            "Log on to the network",
            &format!("<p>Log on to reach the Internet.</p>\n{}", logon_form(vars)),
        ),
        Page::LogonFail => layout(
            "Log on failed",
            &format!(
                "<p class=\"error\" role=\"alert\">{}</p>\n{}",
                escape(&vars.message),
                logon_form(vars)
            ),
        ),
        Page::LogonSuccess => {
            let next = match vars.safe_original_url() {
                Some(url) => format!("<p><a href=\"{0}\">Continue to {0}</a></p>\n", escape(url)),
                None => String::new(),
            };
            layout(
                "You are logged on",
                &format!(
                    "<p>Logged on as {}.</p>\n{next}{}{}",
                    escape(&vars.username),
                    session_line(vars),
                    logoff_form()
                ),
            )
        }
        Page::Online => layout(
            "You are logged on",
            &format!(
                "<p>Logged on as {}.</p>\n{}{}",
                escape(&vars.username),
                session_line(vars),
                logoff_form()
            ),
        ),
        Page::LogoffSuccess => layout(
            "You are logged off",
            "<p>You are logged off. <a href=\"/portal/\">Log on again</a>.</p>\n",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_only_web_links_are_made() {
        let vars = Vars {
            query: "a=\"><script>".into(),
            username: "<b>".into(),
            original_url: Some("javascript:alert(1)".into()),
            ..Vars::default()
        };
        let success = built_in(Page::LogonSuccess, &vars);
        assert!(success.contains("&lt;b&gt;"));
        assert!(!success.contains("javascript:"));
        let logon = built_in(Page::Logon, &vars);
        assert!(logon.contains("action=\"logon.cgi?a=&quot;&gt;&lt;script&gt;\""));
        let own = substitute("<a href=\"{{original_url}}\">{{username}}</a>", &vars);
        assert_eq!(own, "<a href=\"\">&lt;b&gt;</a>");
    }

    #[test]
    fn built_in_pages_are_small_and_self_contained() {
        for page in [
            Page::Logon,
            Page::LogonSuccess,
            Page::LogonFail,
            Page::Online,
            Page::LogoffSuccess,
        ] {
            let html = built_in(page, &Vars::default());
            assert!(
                html.len() < 2048,
                "{} is {} bytes",
                page.file_name(),
                html.len()
            );
            assert!(html.contains("lang=\"en\"") && html.contains("name=\"viewport\""));
            assert!(!html.contains("src=") && !html.contains("<script"));
            assert_eq!(Page::by_name(page.file_name()), Some(page));
        }
    }
}
