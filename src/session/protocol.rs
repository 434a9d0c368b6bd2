//! The control socket's line protocol (docs/control-protocol.md): one JSON object per line in
//! each direction. The client sends [`Request`]s; the device answers with [`Reply`]s.

use serde::{Deserialize, Serialize};

/// Longest request line the device reads; a longer one is answered with an error.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Client to device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Execute one command line. Replies: any `output`/`ask`, then `done`.
    Exec { line: String },
    /// `?` at the end of `line`. Reply: `help`.
    Help { line: String },
    /// Tab at the end of `line`. Reply: `completion`.
    Complete { line: String },
    /// The answer to the pending `ask`; `null` when the user is gone.
    Answer { text: Option<String> },
    /// Ctrl+Z: go to user view. Reply: `done`.
    UserView,
    /// Ctrl+C while an `exec` runs: stop it where it can stop (`ping`, `tracert`). No reply of
    /// its own (the command's `done` follows); ignored when no command runs.
    Interrupt,
    /// As the first request only: take the identity (user, role, peer) the SSH server
    /// registered under this one-time token. Reply: `done`, or `error` and the connection
    /// closes.
    Login { token: String },
}

/// Device to client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Reply {
    /// Text the command printed (lines end with `\n`).
    Output {
        text: String,
    },
    /// Lines a running command shows at once (`ping`'s replies), before its `done`.
    Progress {
        text: String,
    },
    /// The command asks a question; the device waits for an `answer` request.
    Ask {
        prompt: String,
    },
    /// Sent once on connect and after every `exec` and `user-view`: the session's state.
    Done(SessionInfo),
    Help {
        text: String,
    },
    Completion {
        start: usize,
        candidates: Vec<String>,
    },
    /// The request was not understood or not allowed now; the connection stays usable.
    Error {
        message: String,
    },
    /// A log message for the session's terminal (`terminal monitor`), sent at any time, also
    /// between the replies to a request; a client shows it above its prompt.
    Log {
        text: String,
    },
}

/// The session's state after a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInfo {
    /// False when the line was rejected or the command failed (always true on connect).
    pub ok: bool,
    pub prompt: String,
    /// Pager page length; `null` after `screen-length disable`.
    pub screen_length: Option<usize>,
    /// The session is over (`quit` in user view); the device closes the connection.
    pub exit: bool,
    /// The session's line (`vty0`, ...).
    pub line: String,
    /// The line of this `exec` was kept in the session's history, so a line editor may offer
    /// it for recall (false for a line that carried a secret or was rejected, and in every
    /// `done` that does not end an `exec`). Absent from an older device's replies: false.
    #[serde(default)]
    pub in_history: bool,
}

/// One JSON line, `\n` included.
pub fn encode<T: Serialize>(msg: &T) -> String {
    // Serializing these plain types cannot fail: no maps with non-string keys, no floats.
    let mut s = serde_json::to_string(msg).unwrap_or_else(|e| {
        serde_json::json!({"type": "error", "message": e.to_string()}).to_string()
    });
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shapes() {
        let r: Request = serde_json::from_str(r#"{"op":"exec","line":"display version"}"#).unwrap();
        assert_eq!(
            r,
            Request::Exec {
                line: "display version".into()
            }
        );
        let r: Request = serde_json::from_str(r#"{"op":"user-view"}"#).unwrap();
        assert_eq!(r, Request::UserView);
        let r: Request = serde_json::from_str(r#"{"op":"answer","text":null}"#).unwrap();
        assert_eq!(r, Request::Answer { text: None });
        assert!(serde_json::from_str::<Request>(r#"{"op":"exec"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"exec","line":"x","y":1}"#).is_err());
        let done = Reply::Done(SessionInfo {
            ok: true,
            prompt: "<Duet>".into(),
            screen_length: Some(24),
            exit: false,
            line: "vty0".into(),
            in_history: true,
        });
        assert_eq!(
            encode(&done),
            "{\"type\":\"done\",\"ok\":true,\"prompt\":\"<Duet>\",\"screen_length\":24,\"exit\":false,\"line\":\"vty0\",\"in_history\":true}\n"
        );
        assert_eq!(
            serde_json::from_str::<Reply>(encode(&done).trim()).unwrap(),
            done
        );
        let log = Reply::Log { text: "%m".into() };
        assert_eq!(encode(&log), "{\"type\":\"log\",\"text\":\"%m\"}\n");
    }
}
