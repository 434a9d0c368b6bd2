//! The client end of the control socket: a [`Shell`] whose session lives in the device, so
//! `duet connect` runs the same front ends as the console.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel, sync_channel};

use super::frontend::Shell;
use super::monitor::LogFeed;
use super::protocol::{Reply, Request, SessionInfo, encode};
use super::{Completion, Interaction, Outcome};

/// Why `duet connect` could not open a session.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {path}: {source} (is `duet run` running with this data directory?)")]
    Connect { path: PathBuf, source: io::Error },
    #[error("the device at {path} did not open a session: {reason}")]
    Greeting { path: PathBuf, reason: String },
    #[error("login refused: {reason}")]
    Login { reason: String },
}

/// Said when the device goes away in the middle of a session.
pub const LOST: &str = " % The connection to the device was lost.\n";

/// Where the device's replies are read.
enum Replies {
    /// Straight from the socket, log messages skipped (no terminal shows them).
    Direct(BufReader<UnixStream>),
    /// From the thread that reads the socket since [`Shell::log_feed`] was taken: it passes
    /// `log` replies to the feed and the others here.
    Relayed(Receiver<Reply>),
}

/// Log messages a terminal may have waiting before more are dropped (the device keeps them in
/// its buffer).
const LOG_BACKLOG: usize = 256;

/// A session on the device's control socket.
pub struct RemoteShell {
    replies: Replies,
    writer: UnixStream,
    info: SessionInfo,
    lost: bool,
}

impl RemoteShell {
    /// Connect and wait for the device's greeting (the new session's state).
    pub fn connect(path: &Path) -> Result<Self, ConnectError> {
        let stream = UnixStream::connect(path).map_err(|source| ConnectError::Connect {
            path: path.to_path_buf(),
            source,
        })?;
        let greeting = |reason: String| ConnectError::Greeting {
            path: path.to_path_buf(),
            reason,
        };
        let reader = BufReader::new(stream.try_clone().map_err(|e| greeting(e.to_string()))?);
        let mut shell = RemoteShell {
            replies: Replies::Direct(reader),
            writer: stream,
            info: SessionInfo {
                ok: true,
                prompt: String::new(),
                screen_length: None,
                exit: false,
                line: String::new(),
                in_history: false,
            },
            lost: false,
        };
        match shell.recv().map_err(|e| greeting(e.to_string()))? {
            Reply::Done(info) => shell.info = info,
            other => return Err(greeting(format!("unexpected reply {other:?}"))),
        }
        Ok(shell)
    }

    /// Take the identity the SSH server registered under `token` (the shell of an SSH login).
    pub fn login(&mut self, token: &str) -> Result<(), ConnectError> {
        let refused = |reason: String| ConnectError::Login { reason };
        self.send(&Request::Login {
            token: token.to_string(),
        })
        .map_err(|e| refused(e.to_string()))?;
        match self.recv().map_err(|e| refused(e.to_string()))? {
            Reply::Done(info) => {
                self.info = info;
                Ok(())
            }
            Reply::Error { message } => Err(refused(message)),
            other => Err(refused(format!("unexpected reply {other:?}"))),
        }
    }

    fn send(&mut self, request: &Request) -> io::Result<()> {
        self.writer.write_all(encode(request).as_bytes())
    }

    fn recv(&mut self) -> io::Result<Reply> {
        match &mut self.replies {
            Replies::Direct(reader) => loop {
                match read_reply(reader)? {
                    Reply::Log { .. } => continue,
                    reply => return Ok(reply),
                }
            },
            Replies::Relayed(replies) => replies
                .recv()
                .map_err(|_| io::ErrorKind::UnexpectedEof.into()),
        }
    }

    /// The next reply. A command that reports progress (`ping`) can be stopped: while its
    /// replies are awaited, Ctrl+C (`io.interrupted`) sends one `interrupt`. Only then are the
    /// keys looked at, so type-ahead during other commands stays for the next prompt. The
    /// stream's read timeout, if any, still bounds the wait.
    fn next_reply(
        &mut self,
        io: &mut dyn Interaction,
        interruptible: bool,
        interrupt_sent: &mut bool,
    ) -> io::Result<Reply> {
        const TICK: std::time::Duration = std::time::Duration::from_millis(100);
        let limit = self.writer.read_timeout()?;
        let start = std::time::Instant::now();
        loop {
            // Looked at before every wait, not only when a wait times out: a command whose
            // progress never pauses (a ping on the simulated network) must still stop.
            if interruptible && !*interrupt_sent && io.interrupted() {
                self.send(&Request::Interrupt)?;
                *interrupt_sent = true;
            }
            let ready = match &mut self.replies {
                Replies::Direct(reader) => wait_readable(reader, TICK)?,
                Replies::Relayed(replies) => match replies.recv_timeout(TICK) {
                    Ok(reply) => return Ok(reply),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => false,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                },
            };
            if ready {
                return self.recv();
            }
            if limit.is_some_and(|l| start.elapsed() >= l) {
                return Err(io::ErrorKind::TimedOut.into());
            }
        }
    }

    fn exchange(&mut self, request: &Request, io: &mut dyn Interaction) -> io::Result<Outcome> {
        self.send(request)?;
        let mut output = String::new();
        let (mut interruptible, mut interrupt_sent) = (false, false);
        loop {
            match self.next_reply(io, interruptible, &mut interrupt_sent)? {
                Reply::Output { text } => output.push_str(&text),
                Reply::Progress { text } => {
                    interruptible = true;
                    // Shown at once where the front end can, after what came before it.
                    let text = std::mem::take(&mut output) + &text;
                    if !io.progress(&text) {
                        output = text;
                    }
                }
                Reply::Ask { prompt } => {
                    // What the command printed so far belongs before its question.
                    let text = std::mem::take(&mut output);
                    let answer = io.ask(&format!("{text}{prompt}"));
                    self.send(&Request::Answer { text: answer })?;
                }
                Reply::Done(info) => {
                    let ok = info.ok;
                    self.info = info;
                    return Ok(Outcome { output, ok });
                }
                Reply::Error { message } => {
                    output.push_str(&format!(" % {message}\n"));
                    return Ok(Outcome { output, ok: false });
                }
                other => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("unexpected reply {other:?}"),
                    ));
                }
            }
        }
    }

    fn lose(&mut self) -> Outcome {
        self.lost = true;
        Outcome {
            output: LOST.to_string(),
            ok: false,
        }
    }
}

/// Whether a reply line can be read from `reader` within `tick` (buffered or on the socket).
fn wait_readable(reader: &BufReader<UnixStream>, tick: std::time::Duration) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    if reader.buffer().contains(&b'\n') {
        return Ok(true);
    }
    let mut fds = [libc::pollfd {
        fd: reader.get_ref().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    // SAFETY: one valid pollfd; the stream outlives the call.
    let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, tick.as_millis() as i32) };
    if ready < 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(ready > 0)
}

/// The next reply on the socket.
fn read_reply(reader: &mut BufReader<UnixStream>) -> io::Result<Reply> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Interaction for requests that never ask.
struct NoQuestions;
impl Interaction for NoQuestions {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }
}

impl Shell for RemoteShell {
    fn prompt(&self) -> String {
        self.info.prompt.clone()
    }

    fn execute(&mut self, line: &str, io: &mut dyn Interaction) -> Outcome {
        match self.exchange(
            &Request::Exec {
                line: line.to_string(),
            },
            io,
        ) {
            Ok(outcome) => outcome,
            Err(_) => self.lose(),
        }
    }

    fn help(&mut self, line: &str) -> String {
        let reply = self
            .send(&Request::Help {
                line: line.to_string(),
            })
            .and_then(|_| self.recv());
        match reply {
            Ok(Reply::Help { text }) => text,
            Ok(Reply::Error { message }) => format!(" % {message}\n"),
            _ => self.lose().output,
        }
    }

    fn complete(&mut self, line: &str) -> Completion {
        let reply = self
            .send(&Request::Complete {
                line: line.to_string(),
            })
            .and_then(|_| self.recv());
        match reply {
            Ok(Reply::Completion { start, candidates }) => Completion { start, candidates },
            Ok(_) => Completion::default(),
            Err(_) => {
                self.lost = true;
                Completion::default()
            }
        }
    }

    fn last_in_history(&self) -> bool {
        self.info.in_history
    }

    fn user_view(&mut self) {
        if self.exchange(&Request::UserView, &mut NoQuestions).is_err() {
            self.lost = true;
        }
    }

    fn finished(&self) -> bool {
        self.lost || self.info.exit
    }

    fn screen_length(&self) -> Option<usize> {
        self.info.screen_length
    }

    /// From now on a thread reads the socket: log messages go to the returned feed as they
    /// come (the device sends them while the session's terminal monitors), replies to
    /// [`RemoteShell::recv`]. It ends with the connection.
    fn log_feed(&mut self) -> Option<LogFeed> {
        if matches!(self.replies, Replies::Relayed(_)) {
            return None;
        }
        let (reply_tx, reply_rx) = channel();
        let Replies::Direct(mut reader) =
            std::mem::replace(&mut self.replies, Replies::Relayed(reply_rx))
        else {
            unreachable!("checked above");
        };
        let (log_tx, log_rx) = sync_channel(LOG_BACKLOG);
        let spawned = std::thread::Builder::new()
            .name("connect-reader".into())
            .spawn(move || {
                while let Ok(reply) = read_reply(&mut reader) {
                    match reply {
                        Reply::Log { text } => _ = log_tx.try_send(text),
                        reply => {
                            if reply_tx.send(reply).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        // Without the thread the replies are gone with it: the session is lost.
        if spawned.is_err() {
            self.lost = true;
        }
        Some(LogFeed::Lines(log_rx))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;

    use super::*;

    /// A device that greets, then answers each request line with the scripted reply lines
    /// (one entry per request, replies separated by `\n`), recording what it received.
    fn fake_device(
        script: Vec<&'static str>,
    ) -> (
        tempfile::TempDir,
        PathBuf,
        std::thread::JoinHandle<Vec<String>>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duet.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            writer
                .write_all(
                    b"{\"type\":\"done\",\"ok\":true,\"prompt\":\"<Duet>\",\"screen_length\":24,\"exit\":false,\"line\":\"vty3\"}\n",
                )
                .unwrap();
            let mut seen = Vec::new();
            for replies in script {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                seen.push(line.trim_end().to_string());
                for reply in replies.split('\n').filter(|r| !r.is_empty()) {
                    writer.write_all(format!("{reply}\n").as_bytes()).unwrap();
                }
            }
            seen
        });
        (dir, path, handle)
    }

    /// Connect with a read timeout, so a broken exchange fails the test instead of hanging it.
    fn connect(path: &Path) -> RemoteShell {
        let shell = RemoteShell::connect(path).unwrap();
        let timeout = Some(std::time::Duration::from_secs(10));
        let Replies::Direct(reader) = &shell.replies else {
            unreachable!("a new shell reads directly")
        };
        reader.get_ref().set_read_timeout(timeout).unwrap();
        shell
    }

    struct Answers(Vec<&'static str>, Vec<String>);
    impl Interaction for Answers {
        fn ask(&mut self, prompt: &str) -> Option<String> {
            self.1.push(prompt.to_string());
            (!self.0.is_empty()).then(|| self.0.remove(0).to_string())
        }
    }

    #[test]
    fn execute_relays_questions_and_takes_the_new_state() {
        let (_dir, path, device) = fake_device(vec![
            "{\"type\":\"ask\",\"prompt\":\"Sure? [Y/N]:\"}",
            concat!(
                "{\"type\":\"output\",\"text\":\"a\\n\"}\n",
                "{\"type\":\"output\",\"text\":\"b\\n\"}\n",
                r#"{"type":"done","ok":true,"prompt":"[Duet]","screen_length":null,"exit":false,"line":"vty3","in_history":true}"#
            ),
        ]);
        let mut shell = connect(&path);
        assert_eq!(
            (shell.prompt().as_str(), shell.info.line.as_str()),
            ("<Duet>", "vty3")
        );
        // A `done` without `in_history` (an older device) means "not kept".
        assert!(!shell.last_in_history());
        let mut io = Answers(vec!["y"], vec![]);
        let outcome = shell.execute("save", &mut io);
        assert_eq!(
            outcome,
            Outcome {
                output: "a\nb\n".into(),
                ok: true
            }
        );
        assert_eq!(io.1, ["Sure? [Y/N]:"]);
        assert_eq!(shell.prompt(), "[Duet]");
        assert_eq!(shell.screen_length(), None);
        assert!(shell.last_in_history());
        assert!(!shell.finished());
        drop(shell);
        assert_eq!(
            device.join().unwrap(),
            [
                r#"{"op":"exec","line":"save"}"#,
                r#"{"op":"answer","text":"y"}"#
            ]
        );
    }

    /// `log` replies come at any time: without a feed they are skipped; once the feed is
    /// taken they go to it, and the replies to requests still reach their request.
    #[test]
    fn log_replies_go_to_the_feed_and_never_into_a_command_output() {
        let log =
            r#"{"type":"log","text":"%Dec  8 00:00:00:000 2026 Duet SHELL/5/SHELL_LOGIN: m"}"#;
        let done = r#"{"type":"done","ok":true,"prompt":"<Duet>","screen_length":24,"exit":false,"line":"vty3","in_history":true}"#;
        let first = format!("{log}\n{{\"type\":\"output\",\"text\":\"one\\n\"}}\n{log}\n{done}");
        let second = format!("{log}\n{{\"type\":\"output\",\"text\":\"two\\n\"}}\n{done}");
        let (_dir, path, device) = fake_device(vec![first.leak(), second.leak()]);
        let mut shell = connect(&path);
        let outcome = shell.execute("display one", &mut Answers(vec![], vec![]));
        assert_eq!(outcome.output, "one\n");
        let Some(LogFeed::Lines(feed)) = shell.log_feed() else {
            panic!("a feed of lines");
        };
        assert!(shell.log_feed().is_none(), "taken once");
        let outcome = shell.execute("display two", &mut Answers(vec![], vec![]));
        assert_eq!(outcome.output, "two\n");
        let text = feed
            .recv_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        assert!(text.ends_with("SHELL/5/SHELL_LOGIN: m"), "{text}");
        drop(shell);
        assert_eq!(device.join().unwrap().len(), 2);
    }

    #[test]
    fn help_completion_errors_and_a_lost_device() {
        let (_dir, path, device) = fake_device(vec![
            r#"{"type":"help","text":"  display  Display\n"}"#,
            r#"{"type":"completion","start":4,"candidates":["version"]}"#,
            r#"{"type":"error","message":"bad request: x"}"#,
        ]);
        let mut shell = connect(&path);
        assert_eq!(shell.help("d"), "  display  Display\n");
        assert_eq!(
            shell.complete("dis v"),
            Completion {
                start: 4,
                candidates: vec!["version".into()]
            }
        );
        let outcome = shell.execute("x", &mut Answers(vec![], vec![]));
        assert_eq!(
            outcome,
            Outcome {
                output: " % bad request: x\n".into(),
                ok: false
            }
        );
        assert!(!shell.finished());
        device.join().unwrap();
        // The device is gone now.
        let outcome = shell.execute("display version", &mut Answers(vec![], vec![]));
        assert_eq!(
            outcome,
            Outcome {
                output: LOST.into(),
                ok: false
            }
        );
        assert!(shell.finished());
    }

    #[test]
    fn connect_errors_say_what_to_do() {
        let err = RemoteShell::connect(Path::new("/nonexistent/duet.sock"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("is `duet run` running"), "{err}");
        // Something that is not a device on the socket.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("duet.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let other = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.write_all(b"SSH-2.0-OpenSSH\n").unwrap();
        });
        let err = RemoteShell::connect(&path).err().unwrap();
        assert!(err.to_string().contains("did not open a session"), "{err}");
        other.join().unwrap();
    }
}
