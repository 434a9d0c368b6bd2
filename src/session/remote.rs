//! The client end of the control socket: a [`Shell`] whose session lives in the device, so
//! `duet connect` runs the same front ends as the console.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::frontend::Shell;
use super::protocol::{Reply, Request, SessionInfo, encode};
use super::{Completion, Interaction, Outcome};

/// Why `duet connect` could not open a session.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {path}: {source} (is `duet run` running with this data directory?)")]
    Connect { path: PathBuf, source: io::Error },
    #[error("the device at {path} did not open a session: {reason}")]
    Greeting { path: PathBuf, reason: String },
}

/// Said when the device goes away in the middle of a session.
pub const LOST: &str = " % The connection to the device was lost.\n";

/// A session on the device's control socket.
pub struct RemoteShell {
    reader: BufReader<UnixStream>,
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
            reader,
            writer: stream,
            info: SessionInfo {
                ok: true,
                prompt: String::new(),
                screen_length: None,
                exit: false,
                line: String::new(),
            },
            lost: false,
        };
        match shell.recv().map_err(|e| greeting(e.to_string()))? {
            Reply::Done(info) => shell.info = info,
            other => return Err(greeting(format!("unexpected reply {other:?}"))),
        }
        Ok(shell)
    }

    /// The session's line on the device (`vty0`, ...).
    pub fn line(&self) -> &str {
        &self.info.line
    }

    fn send(&mut self, request: &Request) -> io::Result<()> {
        self.writer.write_all(encode(request).as_bytes())
    }

    fn recv(&mut self) -> io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn exchange(&mut self, request: &Request, io: &mut dyn Interaction) -> io::Result<Outcome> {
        self.send(request)?;
        let mut output = String::new();
        loop {
            match self.recv()? {
                Reply::Output { text } => output.push_str(&text),
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
}
