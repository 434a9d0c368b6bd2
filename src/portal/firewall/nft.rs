//! [`Nft`]: the handle on Duet's table, through the `nft` binary.
//!
//! Why the binary and its text (docs/portal.md, "Why nft text"): `nft -f` applies a whole file
//! as one kernel transaction (the table replaced atomically, a batch of logins in or not), the
//! text is what an operator reads in `nft list table`, and it needs no unsafe netlink code of
//! our own. The cost is one process per batch (measured in docs/performance.md), which is why
//! changes are batched: every change that arrives while `nft` runs goes into the next run.

use std::io;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{Client, Plan, render};

/// Handle on the table `inet duet_<suffix>`. Cheap to clone; clones share the batch queue.
#[derive(Clone, Debug)]
pub struct Nft {
    table: String,
    queue: Arc<Mutex<Queue>>,
}

/// Changes waiting for the next `nft` run, in arrival order.
#[derive(Debug, Default)]
struct Queue {
    pending: Vec<(String, oneshot::Sender<Result<(), String>>)>,
    /// A task is running `nft`; it takes `pending` again when it is done.
    flushing: bool,
}

impl Nft {
    pub fn new(table_suffix: &str) -> Nft {
        Nft {
            table: render::table_name(table_suffix),
            queue: Arc::default(),
        }
    }

    /// The table's name (`duet_<suffix>`), for `nft list table inet NAME`.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Replace the table with the one `plan` describes, users included, atomically.
    pub async fn load(&self, plan: &Plan) -> io::Result<()> {
        self.change(render::load(&self.table, plan)).await
    }

    /// Authorize `client`; resolves once the element is in the kernel.
    pub async fn allow(&self, client: Client) -> io::Result<()> {
        self.change(render::allow(&self.table, client)).await
    }

    /// Take `client`'s authorization away (no error when it had none).
    pub async fn revoke(&self, client: Client) -> io::Result<()> {
        self.change(render::revoke(&self.table, client)).await
    }

    /// Drop the table (when the portal stops); no error when it is not there.
    pub async fn remove(&self) -> io::Result<()> {
        self.change(render::remove(&self.table)).await
    }

    /// The sources of authorized traffic seen since the last call (`active4`, then flushed).
    /// A packet between the read and the flush is missed; the client's next one counts.
    pub async fn active(&self) -> io::Result<Vec<Ipv4Addr>> {
        let table = self.table.clone();
        blocking(move || {
            let listed = run_nft(&["-j", "list", "set", "inet", &table, "active4"], None)?;
            run_nft(&["flush", "set", "inet", &table, "active4"], None)?;
            parse_set_elements(&listed)
        })
        .await
    }

    /// Queue `text` for the next `nft -f` run and wait for that run. Loads, removals and
    /// element changes share the queue, so they reach the kernel in the order they were asked.
    async fn change(&self, text: String) -> io::Result<()> {
        let (done, wait) = oneshot::channel();
        let start = {
            let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.pending.push((text, done));
            !std::mem::replace(&mut q.flushing, true)
        };
        if start {
            // A task of its own: a caller that stops waiting never leaves the queue stuck.
            tokio::spawn(flush(self.queue.clone()));
        }
        match wait.await {
            Ok(result) => result.map_err(io::Error::other),
            Err(_) => Err(io::Error::other("the nftables batch was abandoned")),
        }
    }
}

/// Run batches until the queue is empty.
async fn flush(queue: Arc<Mutex<Queue>>) {
    loop {
        let batch = {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.pending.is_empty() {
                q.flushing = false;
                return;
            }
            std::mem::take(&mut q.pending)
        };
        let text: String = batch.iter().map(|(t, _)| t.as_str()).collect();
        let result = apply(text).await;
        if result.is_err() && batch.len() > 1 {
            // One bad change must not fail the others: run each alone to find it.
            for (text, done) in batch {
                let _ = done.send(apply(text).await);
            }
        } else {
            for (_, done) in batch {
                let _ = done.send(result.clone());
            }
        }
    }
}

async fn apply(text: String) -> Result<(), String> {
    blocking(move || run_nft(&["-f", "-"], Some(&text)).map(|_| ()))
        .await
        .map_err(|e| e.to_string())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(format!("nft task failed: {e}"))))
}

/// `nft ARGS`, `stdin` written to it; its stdout, or an error holding its stderr.
fn run_nft(args: &[&str], stdin: Option<&str>) -> io::Result<String> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run nft (package nftables): {e}")))?;
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        input.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "nft {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// The addresses in `nft -j list set` output. Elements are plain values, or objects
/// (`{"elem": {"val": ..., "expires": ...}}`) when the set has timeouts.
fn parse_set_elements(json: &str) -> io::Result<Vec<Ipv4Addr>> {
    let doc: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("nft -j: {e}")))?;
    let mut out = Vec::new();
    let objects = doc["nftables"].as_array().into_iter().flatten();
    for elem in objects
        .filter_map(|o| o["set"]["elem"].as_array())
        .flatten()
    {
        let value = elem.get("elem").map(|e| &e["val"]).unwrap_or(elem);
        if let Some(ip) = value.as_str().and_then(|s| s.parse().ok()) {
            out.push(ip);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_elements_parse_in_both_forms() {
        let json = r#"{"nftables": [{"metainfo": {"json_schema_version": 1}},
            {"set": {"family": "inet", "name": "active4", "table": "duet_x", "type": "ipv4_addr",
             "elem": ["10.1.1.2", {"elem": {"val": "10.1.1.3", "timeout": 600, "expires": 598}}]}}]}"#;
        assert_eq!(
            parse_set_elements(json).unwrap(),
            vec![Ipv4Addr::new(10, 1, 1, 2), Ipv4Addr::new(10, 1, 1, 3)]
        );
        let empty = r#"{"nftables": [{"set": {"name": "active4"}}]}"#;
        assert!(parse_set_elements(empty).unwrap().is_empty());
    }
}
