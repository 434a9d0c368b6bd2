//! The portal part of the running configuration: the system-view settings ([`PortalConfig`])
//! and each interface's ([`InterfacePortal`], kept in the interface's configuration).

use std::collections::BTreeMap;

use super::firewall::FreeRule;
use super::web::UrlParam;

/// Default `tcp-port` of the local web server (HTTP).
pub const DEFAULT_HTTP_PORT: u16 = 80;
/// `portal user-detect` defaults (Comware 7): 3 probes, 3 seconds apart, after 180 seconds
/// without traffic.
pub const DEFAULT_DETECT_RETRY: u32 = 3;
pub const DEFAULT_DETECT_INTERVAL_SECS: u32 = 3;
pub const DEFAULT_DETECT_IDLE_SECS: u32 = 180;

/// `portal ...` in system view and the portal views.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortalConfig {
    /// `portal local-web-server http` (view): the device serves the portal pages.
    pub local_web_server: Option<LocalWebServer>,
    /// `portal web-server NAME` (views), by name.
    pub web_servers: BTreeMap<String, WebServer>,
    /// `portal free-rule N ...`, by rule number.
    pub free_rules: BTreeMap<u32, FreeRule>,
    /// `portal max-user N`: portal users on the whole device at most.
    pub max_users: Option<u32>,
}

/// `portal local-web-server http`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalWebServer {
    /// `tcp-port N`.
    pub tcp_port: u16,
}

impl Default for LocalWebServer {
    fn default() -> Self {
        LocalWebServer {
            tcp_port: DEFAULT_HTTP_PORT,
        }
    }
}

/// `portal web-server NAME`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebServer {
    /// `url URL`: where redirected clients are sent.
    pub url: Option<String>,
    /// `url-parameter NAME KIND`, in the order first given (a name given again keeps its
    /// place and takes the new kind).
    pub url_parameters: Vec<(String, UrlParam)>,
}

/// The portal settings of one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterfacePortal {
    /// `portal enable method direct`.
    pub enabled: bool,
    /// `portal domain NAME`.
    pub domain: Option<String>,
    /// `portal apply web-server NAME`.
    pub web_server: Option<String>,
    /// `portal user-detect type {arp|icmp} ...`.
    pub detect: Option<Detect>,
    /// `portal max-user N` on the interface.
    pub max_users: Option<u32>,
}

impl InterfacePortal {
    /// Nothing configured (the interface renders no portal line).
    pub fn is_default(&self) -> bool {
        *self == InterfacePortal::default()
    }
}

/// How idle users are detected (`portal user-detect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Detect {
    pub kind: DetectKind,
    pub retry: u32,
    pub interval_secs: u32,
    pub idle_secs: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectKind {
    /// Watch the client's neighbour entry being refreshed.
    Arp,
    /// Send ICMP echo requests.
    Icmp,
}

impl DetectKind {
    pub fn name(self) -> &'static str {
        match self {
            DetectKind::Arp => "arp",
            DetectKind::Icmp => "icmp",
        }
    }
}

/// The keyword of a `url-parameter` kind.
pub fn url_param_name(p: UrlParam) -> &'static str {
    match p {
        UrlParam::OriginalUrl => "original-url",
        UrlParam::SourceAddress => "source-address",
        UrlParam::SourceMac => "source-mac",
    }
}
