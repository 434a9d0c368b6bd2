//! Views (command modes) and their prompts.
//!
//! The shell knows three views of its own: user view, system view and the interface views
//! several features configure. Every other view belongs to the feature that enters it and is
//! data here ([`FeatureView`]): its kind (the name `commands/*.yaml` give in `views:`), the
//! argument that tells two views of one kind apart, and the prompt text the feature chose. A
//! new feature with a view adds no variant and no match arm in cli/ (tests/layering.rs checks
//! that cli/ names none of the grammar's feature views).

/// Where a session stands. `views[0]` of a session is always [`View::User`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// `<Sysname>`
    User,
    /// `[Sysname]`
    System,
    /// `[Sysname-GigabitEthernet1/0/1]`; holds the canonical interface name.
    Interface(String),
    /// A view a feature defines (`[Sysname-dhcp-pool-NAME]`, `[Sysname-hot-backup]`, ...).
    Feature(FeatureView),
}

/// A view a feature defines. Two feature views are the same view when kind and argument are
/// equal (a feature derives the prompt from them, so the prompt follows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureView {
    /// The view name used in `commands/*.yaml` (`views: [dhcp-pool]`).
    pub kind: &'static str,
    /// What tells views of this kind apart, in the feature's own form (a pool's name as
    /// configured, `vty 0 63`); empty for a view there is one of.
    pub arg: String,
    /// The prompt's text after `Sysname-` (`dhcp-pool-NAME` shows `[Sysname-dhcp-pool-NAME]`).
    pub prompt: String,
}

impl View {
    /// The view of kind `kind` told apart by `arg`, whose prompt is `[Sysname-PROMPT]`.
    pub fn feature(kind: &'static str, arg: impl Into<String>, prompt: impl Into<String>) -> Self {
        View::Feature(FeatureView {
            kind,
            arg: arg.into(),
            prompt: prompt.into(),
        })
    }

    /// The view name used in `commands/*.yaml` (`views: [system]`).
    pub fn kind(&self) -> &'static str {
        match self {
            View::User => "user",
            View::System => "system",
            View::Interface(_) => "interface",
            View::Feature(view) => view.kind,
        }
    }

    /// The argument of a feature view of kind `kind`; `None` in any other view (a handler's
    /// "must be run in ... view" check).
    pub fn feature_arg(&self, kind: &str) -> Option<&str> {
        match self {
            View::Feature(view) if view.kind == kind => Some(&view.arg),
            _ => None,
        }
    }

    /// The prompt Comware shows in this view.
    pub fn prompt(&self, sysname: &str) -> String {
        match self {
            View::User => format!("<{sysname}>"),
            View::System => format!("[{sysname}]"),
            View::Interface(name) => format!("[{sysname}-{name}]"),
            View::Feature(view) => format!("[{sysname}-{}]", view.prompt),
        }
    }

    /// Enter `view` directly under system view, wherever the command came from (a view's
    /// command typed in another feature's view leaves that view).
    pub fn enter_under_system(views: &mut Vec<View>, view: View) {
        match views.iter().rposition(|v| *v == View::System) {
            Some(system) => views.truncate(system + 1),
            None => views.push(View::System),
        }
        views.push(view);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(View::User.prompt("Duet"), "<Duet>");
        assert_eq!(View::System.prompt("Duet"), "[Duet]");
        let pool = View::feature("pool", "P1", "pool-P1");
        assert_eq!(pool.prompt("Duet"), "[Duet-pool-P1]");
        assert_eq!(pool.kind(), "pool");
        assert_eq!(pool.feature_arg("pool"), Some("P1"));
        assert_eq!(pool.feature_arg("other"), None);
        assert_eq!(View::System.feature_arg("pool"), None);
    }

    #[test]
    fn entering_a_view_leaves_the_views_under_system() {
        let mut views = vec![View::User, View::System, View::feature("a", "", "a")];
        View::enter_under_system(&mut views, View::feature("b", "", "b"));
        assert_eq!(
            views,
            [View::User, View::System, View::feature("b", "", "b")]
        );
        let mut views = vec![View::User];
        View::enter_under_system(&mut views, View::feature("b", "", "b"));
        assert_eq!(
            views,
            [View::User, View::System, View::feature("b", "", "b")]
        );
    }
}
