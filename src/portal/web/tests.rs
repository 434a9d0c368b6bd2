//! The web server over real loopback sockets, with a fake [`Gate`]: redirects, the login
//! round, and the protections (sizes, slow and idle clients, connection limits).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use super::*;

#[derive(Default)]
struct FakeGate {
    online: Mutex<HashMap<Ipv4Addr, Online>>,
}

impl Gate for FakeGate {
    fn logon(
        &self,
        client: Ipv4Addr,
        username: String,
        password: String,
    ) -> BoxFuture<'static, Logon> {
        let answer = if username == "guest" && password == "Guest#2026" {
            let online = Online {
                username,
                seconds_remaining: Some(3600),
            };
            self.online.lock().unwrap().insert(client, online.clone());
            Logon::Success(online)
        } else {
            Logon::Failed("Wrong username or password.".into())
        };
        async move { answer }.boxed()
    }
    fn logoff(&self, client: Ipv4Addr) -> BoxFuture<'static, bool> {
        let was = self.online.lock().unwrap().remove(&client).is_some();
        async move { was }.boxed()
    }
    fn online(&self, client: Ipv4Addr) -> Option<Online> {
        self.online.lock().unwrap().get(&client).cloned()
    }
    fn mac_of(&self, _client: Ipv4Addr) -> Option<[u8; 6]> {
        Some([0, 0x0d, 0x88, 0xf8, 0x0e, 0xab])
    }
}

struct Server {
    addr: SocketAddr,
    gate: Arc<FakeGate>,
    stats: Arc<WebStats>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn test_limits() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(800),
        body_timeout: Duration::from_millis(800),
        ..Limits::default()
    }
}

async fn start(limits: Limits) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let site = Site {
        portal_url: "http://10.1.1.1/portal/".into(),
        url_parameters: vec![
            ("userurl".into(), UrlParam::OriginalUrl),
            ("userip".into(), UrlParam::SourceAddress),
            ("usermac".into(), UrlParam::SourceMac),
        ],
        pages: None,
    };
    let (_tx, rx) = watch::channel(site);
    let gate = Arc::new(FakeGate::default());
    let stats = Arc::new(WebStats::default());
    let task = tokio::spawn(serve_with_limits(
        listener,
        rx,
        gate.clone(),
        stats.clone(),
        limits,
    ));
    Server {
        addr,
        gate,
        stats,
        task,
    }
}

/// A connection from `source` (any 127.0.0.0/8 address is ours on loopback).
async fn connect(server: &Server, source: Ipv4Addr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    socket.connect(server.addr).await.unwrap()
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Send `request` (raw bytes) and read the answer until the server closes.
async fn exchange(server: &Server, source: Ipv4Addr, request: &[u8]) -> Answer {
    let mut stream = connect(server, source).await;
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw))
        .await
        .expect("answer within 5 s")
        .unwrap();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

async fn get(server: &Server, source: Ipv4Addr, host: &str, path: &str) -> Answer {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    exchange(server, source, req.as_bytes()).await
}

async fn post(server: &Server, source: Ipv4Addr, path: &str, form: &str) -> Answer {
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 10.1.1.1\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    exchange(server, source, req.as_bytes()).await
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

#[tokio::test]
async fn any_host_and_the_probes_are_redirected_with_the_original_url() {
    let server = start(test_limits()).await;
    for (host, path) in [
        ("example.test", "/some/page?a=1&b=2"),
        ("connectivitycheck.gstatic.com", "/generate_204"),
        ("captive.apple.com", "/hotspot-detect.html"),
        ("www.msftconnecttest.com", "/connecttest.txt"),
        ("10.1.1.1", "/"),
    ] {
        let a = get(&server, CLIENT, host, path).await;
        assert_eq!(a.status, 302, "{host}{path}");
        assert_eq!(a.header("cache-control"), Some("no-store"));
        let want = format!(
            "http://10.1.1.1/portal/?userurl={}&userip=127.0.0.2&usermac=000d-88f8-0eab",
            form_urlencoded::byte_serialize(format!("http://{host}{path}").as_bytes())
                .collect::<String>()
        );
        assert_eq!(a.header("location"), Some(want.as_str()));
    }
    assert_eq!(server.stats.snapshot().redirects, 5);
}

#[tokio::test]
async fn logon_logoff_round_uses_the_peer_address() {
    // Default limits: no header timeout closes the idle connection below.
    let server = start(Limits::default()).await;
    let query = "?userurl=http%3A%2F%2Fexample.test%2F&userip=127.0.0.2";
    let page = get(&server, CLIENT, "10.1.1.1", &format!("/portal/{query}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"PtUser\"") && page.body.contains("name=\"PtPwd\""));
    assert!(page.body.contains(&format!(
        "action=\"logon.cgi{}\"",
        query.replace('&', "&amp;")
    )));

    let api = get(&server, CLIENT, "10.1.1.1", "/portal/api").await;
    assert_eq!(api.header("content-type"), Some("application/captive+json"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&api.body).unwrap(),
        serde_json::json!({"captive": true, "user-portal-url": "http://10.1.1.1/portal/"})
    );

    let cgi = format!("/portal/logon.cgi{query}");
    let fail = post(
        &server,
        CLIENT,
        &cgi,
        "PtUser=guest&PtPwd=nope&PtButton=Logon",
    )
    .await;
    assert!(
        fail.body.contains("Log on failed") && fail.body.contains("Wrong username or password.")
    );
    assert!(server.gate.online(CLIENT).is_none());

    // A connection the client opened while captive (DNATed here) is closed by its logon,
    // so the browser cannot reuse it for the site it now may reach.
    let mut early = connect(&server, CLIENT).await;
    // A form field naming another client changes nothing: the client is the TCP peer.
    let ok = post(
        &server,
        CLIENT,
        &cgi,
        "PtUser=guest&PtPwd=Guest%232026&PtButton=Logon&userip=127.0.0.9",
    )
    .await;
    assert!(ok.body.contains("You are logged on"), "{}", ok.body);
    assert!(ok.body.contains("<a href=\"http://example.test/\">"));
    assert!(server.gate.online(CLIENT).is_some());
    assert!(server.gate.online(Ipv4Addr::new(127, 0, 0, 9)).is_none());
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(1), early.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0))), "{closed:?}");

    let online = get(&server, CLIENT, "10.1.1.1", "/portal/").await;
    assert!(online.body.contains("Logged on as guest") && online.body.contains("value=\"Logoff\""));
    let api = get(&server, CLIENT, "10.1.1.1", "/portal/api").await;
    let api: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(api["captive"], false);
    assert_eq!(api["seconds-remaining"], 3600);

    let off = post(&server, CLIENT, "/portal/logon.cgi", "PtButton=Logoff").await;
    assert!(off.body.contains("You are logged off"));
    assert!(server.gate.online(CLIENT).is_none());
    assert_eq!(server.stats.snapshot().logon_posts, 3);
}

#[tokio::test]
async fn bad_input_is_answered_and_counted() {
    let server = start(test_limits()).await;
    let big = "x".repeat(5000);
    let a = post(
        &server,
        CLIENT,
        "/portal/logon.cgi",
        &format!("PtUser={big}"),
    )
    .await;
    assert_eq!(a.status, 413);
    let a = exchange(
        &server,
        CLIENT,
        format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX-Big: {}\r\n\r\n",
            "y".repeat(10_000)
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(a.status, 431);
    let a = exchange(&server, CLIENT, b"\x16\x03\x01 not http at all\r\n\r\n").await;
    assert_eq!(a.status, 400);
    let a = post(&server, CLIENT, "/portal/logon.cgi", "PtButton=Dance").await;
    assert_eq!(a.status, 400);
    let a = get(&server, CLIENT, "10.1.1.1", "/portal/logon.cgi").await;
    assert_eq!(a.status, 405);
    // A chunked body without a length is cut at the limit too.
    let chunk = "y".repeat(3000);
    let req = format!(
        "POST /portal/logon.cgi HTTP/1.1\r\nHost: 10.1.1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
         {0:x}\r\n{chunk}\r\n{0:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    assert_eq!(exchange(&server, CLIENT, req.as_bytes()).await.status, 413);
    let c = server.stats.snapshot();
    assert_eq!((c.too_large, c.bad_requests), (3, 3), "{c:?}");
}

/// Log on from `source` and return how long it took.
async fn timed_logon(server: &Server, source: Ipv4Addr) -> Duration {
    let started = Instant::now();
    let a = post(
        server,
        source,
        "/portal/logon.cgi",
        "PtUser=guest&PtPwd=Guest%232026&PtButton=Logon",
    )
    .await;
    assert!(a.body.contains("You are logged on"), "{}", a.body);
    started.elapsed()
}

#[tokio::test]
async fn slow_clients_are_cut_and_do_not_stall_a_logon() {
    let server = start(test_limits()).await;
    // Slow loris: headers one byte every 100 ms, never finished; and a body that stops.
    let mut loris = connect(&server, Ipv4Addr::new(127, 0, 0, 3)).await;
    let mut slow_body = connect(&server, Ipv4Addr::new(127, 0, 0, 4)).await;
    slow_body
        .write_all(b"POST /portal/logon.cgi HTTP/1.1\r\nHost: 10.1.1.1\r\nContent-Length: 100\r\n\r\nPtUser=")
        .await
        .unwrap();
    loris
        .write_all(b"GET / HTTP/1.1\r\nHost: example.test\r\nX-Slow: ")
        .await
        .unwrap();
    let dripping = async {
        for _ in 0..40 {
            if loris.write_all(b"a").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    let (cut, took) = tokio::join!(dripping, async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        timed_logon(&server, CLIENT).await
    });
    assert!(took < Duration::from_millis(500), "logon took {took:?}");
    assert!(cut, "the slow client was never cut");
    let mut rest = Vec::new();
    slow_body.read_to_end(&mut rest).await.unwrap();
    assert!(String::from_utf8_lossy(&rest).starts_with("HTTP/1.1 408"));
    assert_eq!(server.stats.snapshot().timeouts, 2);
}

#[tokio::test]
async fn two_thousand_idle_connections_do_not_stall_a_logon() {
    let server = start(Limits {
        header_timeout: Duration::from_secs(30),
        ..Limits::default()
    })
    .await;
    // 2,000 silent connections from 100 sources (20 each, under the per-source limit).
    let mut idle = Vec::new();
    for i in 0..2000u32 {
        let source = Ipv4Addr::new(127, 0, 1 + (i / 20 / 250) as u8, 1 + (i / 20 % 250) as u8);
        idle.push(connect(&server, source).await);
    }
    let took = timed_logon(&server, CLIENT).await;
    assert!(took < Duration::from_millis(500), "logon took {took:?}");
    // Beyond the per-source limit, a connection is closed at once and counted.
    let mut flood = Vec::new();
    for _ in 0..80 {
        flood.push(connect(&server, Ipv4Addr::new(127, 0, 0, 5)).await);
    }
    let refused_at = Instant::now();
    while server.stats.snapshot().connections_refused < 16 {
        assert!(
            refused_at.elapsed() < Duration::from_secs(5),
            "{:?}",
            server.stats.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.stats.snapshot().connections_refused, 16);
    assert!(timed_logon(&server, Ipv4Addr::new(127, 0, 0, 6)).await < Duration::from_millis(500));
    drop(idle);
}
