//! Network access users (`local-user NAME class network`) and ISP domains (`domain NAME`,
//! `domain default enable NAME`), as kept in the running configuration, and the local
//! authentication the portal asks for ([`authenticate_portal`]).
//!
//! Invariant: the two classes of local users are apart. Manage users (`crate::aaa::users`) log
//! in to the shell and never pass the portal; network users pass the portal (with
//! `service-type portal`) and never log in to the shell: they live in another map of the
//! configuration that the shell's login never reads, and one name is one class.

use std::collections::BTreeMap;

use crate::cli::View;

/// The view kind of network user views (`views: [network-user]` in commands/aaa.yaml).
pub const NETWORK_USER_VIEW: &str = "network-user";
/// The view kind of domain views (`views: [domain]`).
pub const DOMAIN_VIEW: &str = "domain";
/// The domain every device has, and the default one until `domain default enable` names
/// another (Comware's `system`).
pub const SYSTEM_DOMAIN: &str = "system";
/// Longest domain name Comware accepts.
pub const MAX_DOMAIN_NAME: usize = 255;

/// The view `local-user NAME class network` enters: `[Sysname-luser-network-NAME]`.
pub fn network_user_view(name: &str) -> View {
    View::feature(NETWORK_USER_VIEW, name, format!("luser-network-{name}"))
}

/// The view `domain NAME` enters: `[Sysname-isp-NAME]`.
pub fn domain_view(name: &str) -> View {
    View::feature(DOMAIN_VIEW, name, format!("isp-{name}"))
}

/// One network access user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkUser {
    /// The argon2id PHC string of the password; `None` until `password` is set (a user
    /// without a password never passes).
    pub password: Option<String>,
    /// `service-type portal`.
    pub portal: bool,
    /// `access-limit N`: how many clients may be logged in as this user at once.
    pub access_limit: Option<u32>,
    /// `authorization-attribute idle-cut MINUTES`.
    pub idle_cut_minutes: Option<u32>,
    /// `authorization-attribute session-timeout MINUTES` (Duet's own): the longest a login
    /// lasts.
    pub session_timeout_minutes: Option<u32>,
}

/// One ISP domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Domain {
    /// `authentication portal local` was typed. Local is also what a domain without it does
    /// (the only method Duet has), so this only records the explicit command.
    pub portal_local: bool,
}

/// `domain ...` and `domain default enable NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainsConfig {
    /// Every domain by name; `system` is always there.
    pub domains: BTreeMap<String, Domain>,
    /// `domain default enable NAME`: the domain of a user name without `@domain` when the
    /// interface names none.
    pub default: String,
}

impl Default for DomainsConfig {
    fn default() -> Self {
        DomainsConfig {
            domains: BTreeMap::from([(SYSTEM_DOMAIN.to_string(), Domain::default())]),
            default: SYSTEM_DOMAIN.to_string(),
        }
    }
}

/// Is `name` a valid domain name (1 to 255 characters, none of `\ | / : * ? < > @`, spaces or
/// control characters)? `domain NAME` also refuses a prefix of the keyword `default` (the
/// shell reads `domain d` as `domain default ...`).
pub fn valid_domain_name(name: &str) -> bool {
    let count = name.chars().count();
    (1..=MAX_DOMAIN_NAME).contains(&count)
        && name
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"\\|/:*?<>@\"".contains(c))
}

/// What a network user is granted at login.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    /// The user name without its domain.
    pub username: String,
    pub access_limit: Option<u32>,
    pub idle_cut_secs: Option<u32>,
    pub session_secs: Option<u32>,
}

/// Why the portal refused a user name and password. The web page shows one sentence for all
/// of them (it never says which of the two was wrong); the log names the reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// No network user of that name (a manage user is no network user).
    UnknownUser,
    /// The password does not match, or the user has none.
    BadPassword,
    /// The user lacks `service-type portal`.
    NoPortalService,
    /// The domain (the interface's, the name's `@domain`, or the default) does not exist.
    UnknownDomain,
}

impl Refusal {
    /// The reason, as logs show it.
    pub fn text(self) -> &'static str {
        match self {
            Refusal::UnknownUser => "The user does not exist.",
            Refusal::BadPassword => "The password is wrong.",
            Refusal::NoPortalService => "The user is not authorized for the portal service.",
            Refusal::UnknownDomain => "The authentication domain does not exist.",
        }
    }
}

/// Check a portal login against the local network users (`authentication portal local`).
///
/// The domain is the interface's `portal domain` if given, else the `@domain` of the name,
/// else the default domain (H3C's order); every domain authenticates locally. `verify` checks
/// a password against a stored hash (argon2id: slow on purpose, so the caller decides where it
/// runs).
pub fn authenticate_portal(
    users: &BTreeMap<String, NetworkUser>,
    domains: &DomainsConfig,
    interface_domain: Option<&str>,
    name: &str,
    password: &str,
    verify: impl FnOnce(&str, &str) -> bool,
) -> Result<Grant, Refusal> {
    let (user_name, name_domain) = match name.rsplit_once('@') {
        Some((u, d)) => (u, Some(d)),
        None => (name, None),
    };
    let domain = interface_domain
        .or(name_domain)
        .unwrap_or(domains.default.as_str());
    if !domains.domains.contains_key(domain) {
        return Err(Refusal::UnknownDomain);
    }
    let user = users.get(user_name).ok_or(Refusal::UnknownUser)?;
    let Some(hash) = &user.password else {
        return Err(Refusal::BadPassword);
    };
    if !verify(password, hash) {
        return Err(Refusal::BadPassword);
    }
    if !user.portal {
        return Err(Refusal::NoPortalService);
    }
    Ok(Grant {
        username: user_name.to_string(),
        access_limit: user.access_limit,
        idle_cut_secs: user.idle_cut_minutes.map(|m| m.saturating_mul(60)),
        session_secs: user.session_timeout_minutes.map(|m| m.saturating_mul(60)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> BTreeMap<String, NetworkUser> {
        BTreeMap::from([
            (
                "guest".to_string(),
                NetworkUser {
                    password: Some("H(pw)".into()),
                    portal: true,
                    access_limit: Some(2),
                    idle_cut_minutes: Some(15),
                    session_timeout_minutes: None,
                },
            ),
            (
                "noportal".to_string(),
                NetworkUser {
                    password: Some("H(pw)".into()),
                    ..NetworkUser::default()
                },
            ),
        ])
    }

    fn verify(plain: &str, hash: &str) -> bool {
        format!("H({plain})") == hash
    }

    #[test]
    fn domain_order_and_refusals() {
        let mut domains = DomainsConfig::default();
        let u = users();
        let ok = authenticate_portal(&u, &domains, None, "guest", "pw", verify).unwrap();
        assert_eq!(ok.username, "guest");
        assert_eq!(ok.idle_cut_secs, Some(900));
        assert_eq!(
            authenticate_portal(&u, &domains, None, "guest@system", "pw", verify)
                .unwrap()
                .username,
            "guest"
        );
        assert_eq!(
            authenticate_portal(&u, &domains, None, "guest@nowhere", "pw", verify),
            Err(Refusal::UnknownDomain)
        );
        // The interface's domain comes first.
        assert_eq!(
            authenticate_portal(&u, &domains, Some("campus"), "guest", "pw", verify),
            Err(Refusal::UnknownDomain)
        );
        domains
            .domains
            .insert("campus".to_string(), Domain::default());
        assert!(authenticate_portal(&u, &domains, Some("campus"), "guest@x", "pw", verify).is_ok());
        assert_eq!(
            authenticate_portal(&u, &domains, None, "guest", "bad", verify),
            Err(Refusal::BadPassword)
        );
        assert_eq!(
            authenticate_portal(&u, &domains, None, "nobody", "pw", verify),
            Err(Refusal::UnknownUser)
        );
        assert_eq!(
            authenticate_portal(&u, &domains, None, "noportal", "pw", verify),
            Err(Refusal::NoPortalService)
        );
    }

    #[test]
    fn views() {
        assert_eq!(
            network_user_view("guest").prompt("Duet"),
            "[Duet-luser-network-guest]"
        );
        assert_eq!(domain_view("campus").prompt("Duet"), "[Duet-isp-campus]");
    }
}
