//! The `duet` program: argument parsing and start-up only.
//!
//! - `duet run`: start a device (console on this terminal, control socket in the data dir).
//! - `duet connect`: a command session on a running device over its control socket.
//! - `duet demo`: devices A and B with simulated DHCP clients in this process, console on A.
//! - `duet check FILE`: report the lines of a configuration file that would not load.
//! - `duet stop`: stop the device running with a data directory (SIGTERM, then wait).
//! - `duet cleanup`: remove what a stopped (or crashed) device added to the kernel.
//! - `duet generate man DIR | completions SHELL`: the manual pages and shell completions the
//!   Debian package ships, from these clap definitions (hidden from help).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand, ValueEnum};

use duet::config::startup::startup_config_path;
use duet::device::{Device, DeviceOptions, NetKind};
use duet::interface::name::IfName;
use duet::session::console::{self, TerminalAsker};
use duet::session::control::{ControlServer, SOCKET_NAME};
use duet::session::frontend::{EchoAsker, LineReader, Shell, run_piped, write_block};
use duet::session::load::{Severity, load_file};
use duet::session::remote::RemoteShell;
use duet::session::signals::StopSignals;
use duet::session::ssh::{self, LOGIN_TOKEN_ENV, SshOptions};

#[derive(Parser)]
#[command(
    name = "duet",
    version,
    about = "A network operating system for a pair of devices"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a device: console on this terminal (or piped stdin), control socket in the data dir.
    Run(RunArgs),
    /// Open a command session (network-admin) on a running device.
    Connect(ConnectArgs),
    /// Run the demo: devices A and B (VRRP, DHCP) with simulated clients; console on A.
    Demo(DemoArgs),
    /// Stop the device running with this data directory, as SIGTERM does (VRRP masters resign
    /// with priority 0, the stores close); waits until it has stopped.
    Stop {
        /// Data directory of the running device.
        #[arg(long, value_name = "DIR", default_value = "duet-data")]
        data_dir: PathBuf,
    },
    /// Check a configuration file: one `FILE:LINE: message` per line that would not load.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
    /// Remove what a stopped or crashed device added to the kernel (virtual IPs, macvlans,
    /// routes, nftables tables) and nothing else; the systemd unit runs it after every stop.
    Cleanup(CleanupArgs),
    /// Write the manual pages or a shell completion script (packaging/build-deb.sh).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: Generate,
    },
}

#[derive(Subcommand)]
enum Generate {
    /// Write duet.1 and one page per subcommand (duet-run.1 ...) into DIR.
    Man {
        /// The folder to write the pages into (created if missing).
        dir: PathBuf,
    },
    /// Print the completion script for SHELL on standard output.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args)]
struct CleanupArgs {
    /// Data directory of the device (its record of kernel objects, `kernel-objects`).
    #[arg(long, value_name = "DIR", default_value = "duet-data")]
    data_dir: PathBuf,
    /// The device's port mapping, as given to `duet run`: Duet-named VRRP macvlans on these
    /// Linux interfaces are removed too, recorded or not (without it, only what is recorded).
    #[arg(long = "port", value_name = "NAME=LINUXIF", value_parser = parse_port)]
    ports: Vec<(IfName, String)>,
    /// The device's configuration: the VRRP virtual IPs it names are removed from the mapped
    /// ports too (as /32), whether the data directory recorded them or not.
    #[arg(long, value_name = "FILE", requires = "ports")]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Net {
    /// The in-process simulated LAN (no root needed).
    Sim,
    /// Real Linux interfaces (map ports with --port).
    Linux,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Configuration to load at start-up (default: DATA/startup.cfg if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (startup configuration, lease store, control socket).
    #[arg(long, value_name = "DIR", default_value = "duet-data")]
    data_dir: PathBuf,
    /// Network backend.
    #[arg(long, value_enum, default_value_t = Net::Sim)]
    net: Net,
    /// Map an interface onto a Linux interface (with --net linux), e.g. GigabitEthernet1/0/1=eth1
    /// or Vlan-interface100=eth0.100 (a VLAN subinterface or bridge made beforehand).
    #[arg(long = "port", value_name = "NAME=LINUXIF", value_parser = parse_port)]
    ports: Vec<(IfName, String)>,
    /// No console: run until SIGINT or SIGTERM.
    #[arg(long)]
    no_console: bool,
    /// Append the operator log to this file (level from RUST_LOG, default info); without it,
    /// only errors go to stderr. Every Comware-style event also reaches `display logbuffer`.
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,
    /// Listen for SSH on this port instead of `ssh server port` (the server still runs only
    /// while `ssh server enable` is configured).
    #[arg(long, value_name = "PORT")]
    ssh_port: Option<u16>,
    /// Address the SSH server listens on.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    ssh_address: std::net::IpAddr,
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Folder for the devices' data directories (DIR/A, DIR/B) and DIR/clients.log.
    #[arg(long, value_name = "DIR", default_value = "duet-demo")]
    dir: PathBuf,
    /// Simulated DHCP clients.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(0..=90))]
    clients: u16,
    /// DHCP lease time in seconds (clients renew at half of it).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(4..=86400))]
    lease: u32,
    /// The hot-backup port on the simulated failover link (A 192.168.255.1, B 192.168.255.2).
    #[arg(long, value_name = "PORT", default_value_t = 10241)]
    hot_backup_port: u16,
    /// Append the operator log to this file (level from RUST_LOG, default info).
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ConnectArgs {
    /// Data directory of the running device (its socket is DIR/duet.sock).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "duet-data",
        conflicts_with = "socket"
    )]
    data_dir: PathBuf,
    /// Path of the control socket.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Run this command (repeatable, in order), print its output and exit; nonzero if any failed.
    #[arg(short = 'c', long = "command", value_name = "COMMAND")]
    commands: Vec<String>,
    /// On a terminal, write what a Comware device writes: prompt, echo and plain text, editing
    /// with backspaces, no escape sequences (the shells of SSH logins run with it, so scripts
    /// such as Netmiko read the stream they expect).
    #[arg(long)]
    comware_stream: bool,
}

fn parse_port(text: &str) -> Result<(IfName, String), String> {
    let (name, linux) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected NAME=LINUXIF"))?;
    let name: IfName = name
        .parse()
        .map_err(|_| {
            format!(
                "`{name}` is not an interface name (GigabitEthernet1/0/1, Vlan-interface1 to Vlan-interface4094, LoopBack0 to LoopBack1023)"
            )
        })?;
    let valid = !linux.is_empty() && linux.len() < 16 && !linux.contains(['/', ' ']);
    if !valid {
        return Err(format!("`{linux}` is not a Linux interface name"));
    }
    Ok((name, linux.to_string()))
}

fn main() -> ExitCode {
    // `duet` alone runs a device on the simulated network, as the README's first command does.
    let cli = if std::env::args_os().len() == 1 {
        Cli::parse_from(["duet", "run"])
    } else {
        Cli::parse()
    };
    let log_file = match &cli.command {
        Command::Run(args) => args.log_file.clone(),
        Command::Demo(args) => args.log_file.clone(),
        _ => None,
    };
    if let Err(e) = duet::infocenter::init_tracing(log_file.as_deref()) {
        eprintln!("duet: logging: {e}");
    }
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Connect(args) => connect(args),
        Command::Demo(args) => demo(args),
        Command::Stop { data_dir } => stop(&data_dir),
        Command::Check { file } => check(&file),
        Command::Cleanup(args) => cleanup(args),
        Command::Generate { what } => generate(what),
    };
    result.unwrap_or_else(|e| {
        eprintln!("duet: {e:#}");
        ExitCode::FAILURE
    })
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let net = match args.net {
        Net::Sim if !args.ports.is_empty() => bail!("--port needs --net linux"),
        Net::Sim => NetKind::Sim,
        Net::Linux if args.ports.is_empty() => {
            bail!("--net linux needs at least one --port NAME=LINUXIF")
        }
        Net::Linux => NetKind::Linux { ports: args.ports },
    };
    // Held until the process ends: one device per data directory (duet::datadir).
    let _data_dir = duet::datadir::DataDir::lock(&args.data_dir)?;
    if let NetKind::Linux { ports } = &net {
        // What an earlier run of this device left in the kernel (a crash without the unit's
        // ExecStopPost): a stale virtual IP or macvlan would answer for the gateway.
        let report = remove_kernel_leftovers(&args.data_dir, &[], ports)?;
        for line in &report.removed {
            eprintln!("duet: removed a leftover of an earlier run: {line}");
        }
        for line in &report.failed {
            eprintln!("duet: cannot remove a leftover of an earlier run: {line}");
        }
    }
    let device = Device::new(DeviceOptions {
        data_dir: args.data_dir.clone(),
        net,
    });

    // `--config FILE`, else the next startup file `save` chose (DATA/startup.cfg by default).
    let startup = args.config.clone().or_else(|| {
        let default = startup_config_path(&args.data_dir);
        default.exists().then_some(default)
    });
    if let Some(path) = &startup {
        // A bad line (or an unreadable file) is reported and start-up goes on.
        let loaded = match load_file(&device, path) {
            Ok(reports) => {
                reports.iter().for_each(|(_, e)| eprintln!("{e}"));
                true
            }
            Err(e) => {
                eprintln!("{e}");
                false
            }
        };
        if args.config.is_some() || !loaded {
            // `display startup` names what was really loaded at boot.
            *device
                .current_startup
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = loaded.then(|| path.display().to_string());
        }
    }

    // `reboot` restarts this process in place (src/system/reboot.rs), putting the terminal
    // back in the mode it had before the console started.
    let terminal_mode = std::sync::Mutex::new(nix::sys::termios::tcgetattr(io::stdin()).ok());
    duet::system::reboot::install(Box::new(move |device| {
        let mode = terminal_mode
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        duet::system::reboot::restart_process(device, mode.as_ref())
    }));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("duet")
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    // The console shows what the engines log from their start on.
    let boot_logs = (!args.no_console).then(|| device.logs.watch());
    device
        .start(runtime.handle())
        .context("cannot start the device's engines")?;
    // Signal handlers exist before the control socket does: whoever sees the socket may stop us.
    let signals = {
        let _rt = runtime.enter();
        StopSignals::new()?
    };
    let control = ControlServer::start(
        device.clone(),
        &args.data_dir.join(SOCKET_NAME),
        runtime.handle(),
    )?;
    let _ssh = ssh::start(
        device.clone(),
        SshOptions {
            address: args.ssh_address,
            port: args.ssh_port,
            exe: std::env::current_exe().context("cannot find the duet binary for SSH shells")?,
            socket: std::path::absolute(control.path())
                .unwrap_or_else(|_| control.path().to_path_buf()),
        },
        runtime.handle(),
    );

    // systemd (Type=notify): ready once the configuration is loaded and the engines run;
    // then the watchdog is fed while the engines' loops beat. No-ops outside systemd.
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
    runtime.spawn(duet::health::feed_watchdog(device.health.clone()));

    let code = if args.no_console {
        runtime.block_on(signals.next(false));
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        ExitCode::SUCCESS
    } else {
        let on_terminal = console::on_terminal();
        runtime.spawn(stop_on_signal(
            signals,
            device.clone(),
            control.socket_file(),
            on_terminal,
            // Read now: the task may first run after the console has changed the mode.
            nix::sys::termios::tcgetattr(io::stdin()).ok(),
        ));
        match console::run_console(device.clone(), console::AfterQuit::Logout, boot_logs) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("duet: console: {e}");
                ExitCode::FAILURE
            }
        }
    };
    // VRRP masters resign (priority 0) and remove their virtual IPs before the process ends.
    runtime.block_on(device.shutdown());
    control.shutdown();
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(code)
}

/// With a console the main thread is blocked reading input: a SIGTERM or SIGHUP (or SIGINT
/// when input is piped) ends the process from here, after putting the terminal back and removing the
/// socket. On a terminal, Ctrl+C while a command runs is ignored (it abandons a line only).
/// `saved` is the terminal's mode from before the console started.
async fn stop_on_signal(
    signals: StopSignals,
    device: Arc<Device>,
    socket: duet::session::control::SocketFile,
    on_terminal: bool,
    saved: Option<nix::sys::termios::Termios>,
) {
    signals.next(on_terminal).await;
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    // VRRP masters resign (priority 0) so the peer takes over after Skew_Time.
    device.shutdown().await;
    if let Some(saved) = saved {
        let _ =
            nix::sys::termios::tcsetattr(io::stdin(), nix::sys::termios::SetArg::TCSANOW, &saved);
    }
    socket.remove();
    // No flush here: the console holds the stdout lock while it waits for input, and it flushes
    // everything it writes before waiting.
    std::process::exit(0);
}

fn generate(what: Generate) -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    match what {
        Generate::Man { dir } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write the manual pages into {}", dir.display()))?;
        }
        Generate::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "duet", &mut io::stdout());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `duet cleanup`: only while no device holds the data directory (its lock), so the objects
/// it removes are never those of a running device.
fn cleanup(args: CleanupArgs) -> anyhow::Result<ExitCode> {
    let _data_dir = duet::datadir::DataDir::lock(&args.data_dir)?;
    let configured = match &args.config {
        Some(file) => configured_virtual_ips(file, &args.ports)?,
        None => Vec::new(),
    };
    let report = remove_kernel_leftovers(&args.data_dir, &configured, &args.ports)?;
    let mut stdout = io::stdout().lock();
    for line in &report.removed {
        writeln!(stdout, "removed {line}")?;
    }
    for line in &report.failed {
        eprintln!("duet: cannot remove {line}");
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The VRRP virtual IPs that `file` configures on the mapped `ports`, as the /32 addresses a
/// device without a macvlan puts on the port (loaded on a scratch device with these ports).
fn configured_virtual_ips(
    file: &Path,
    ports: &[(IfName, String)],
) -> anyhow::Result<Vec<duet::net::ledger::KernelObject>> {
    let scratch = ScratchDir::new()?;
    let device: Arc<Device> = Device::new(DeviceOptions {
        data_dir: scratch.0.clone(),
        net: NetKind::Linux {
            ports: ports.to_vec(),
        },
    });
    for (_, report) in load_file(&device, file)? {
        eprintln!("{report}");
    }
    let config = device.config.snapshot();
    let mut objects = Vec::new();
    for (port, linux) in ports {
        let Some(interface) = config.interfaces.get(port) else {
            continue;
        };
        for group in interface.vrrp.groups.values() {
            objects.extend(group.virtual_ips.iter().map(|addr| {
                duet::net::ledger::KernelObject::Address {
                    dev: linux.clone(),
                    addr: *addr,
                    prefix: 32,
                }
            }));
        }
    }
    Ok(objects)
}

/// Remove what the ledger of `data_dir` records and the Duet-named VRRP macvlans on the Linux
/// interfaces of `ports` (duet::net::cleanup). The caller holds the data directory's lock.
fn remove_kernel_leftovers(
    data_dir: &Path,
    configured: &[duet::net::ledger::KernelObject],
    ports: &[(IfName, String)],
) -> anyhow::Result<duet::net::cleanup::Report> {
    let (ledger, errors) = duet::net::ledger::Ledger::open(data_dir);
    for e in errors {
        eprintln!("duet: {e}");
    }
    let parents: Vec<String> = ports.iter().map(|(_, linux)| linux.clone()).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime
        .block_on(duet::net::cleanup::cleanup(&ledger, configured, &parents))
        .context("cannot clean up the kernel")
}

fn connect(args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let path = args
        .socket
        .unwrap_or_else(|| args.data_dir.join(SOCKET_NAME));
    let mut shell = RemoteShell::connect(&path)?;
    // The shell of an SSH login: the SSH server passes its one-time token in the environment
    // (not on the command line, where `ps` would show it).
    if let Some(token) = std::env::var_os(LOGIN_TOKEN_ENV) {
        // SAFETY: still single-threaded here; nothing else reads the environment.
        unsafe { std::env::remove_var(LOGIN_TOKEN_ENV) };
        shell.login(&token.to_string_lossy())?;
    }
    let failed = if !args.commands.is_empty() {
        let mut failed = false;
        let mut stdout = io::stdout().lock();
        let mut input = LineReader::new(io::stdin().lock());
        for command in &args.commands {
            if shell.finished() {
                break;
            }
            // The line as a terminal would show it: the prompt and the command, so the caret
            // of an error points into the command above it.
            writeln!(stdout, "{}{command}", shell.prompt())?;
            stdout.flush()?;
            let outcome = if io::stdin().is_terminal() {
                shell.execute(command, &mut TerminalAsker)
            } else {
                shell.execute(
                    command,
                    &mut EchoAsker {
                        input: &mut input,
                        out: &mut stdout,
                    },
                )
            };
            write_block(&mut stdout, &outcome.output)?;
            failed |= !outcome.ok;
        }
        stdout.flush()?;
        failed
    } else if console::on_terminal() && args.comware_stream {
        duet::session::streamterm::run_stream_terminal(shell)?;
        false
    } else if console::on_terminal() {
        console::run_terminal(shell)?;
        false
    } else {
        run_piped(&mut shell, io::stdin().lock(), io::stdout().lock())?.failed > 0
    };
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    duet::demo::run::run(duet::demo::run::DemoOptions {
        dir: args.dir,
        clients: usize::from(args.clients),
        lease_secs: args.lease,
        hot_backup_port: args.hot_backup_port,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `duet stop`: SIGTERM to the process holding the data directory's lock, then wait (at most
/// 30 s) until the lock is free, i.e. the device has shut down.
fn stop(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let holder = |dir: &Path| {
        duet::datadir::holder(dir)
            .with_context(|| format!("cannot read the lock of {}", dir.display()))
    };
    let Some(pid) = holder(data_dir)? else {
        bail!(
            "no device is running with the data directory {}",
            data_dir.display()
        );
    };
    let target = nix::unistd::Pid::from_raw(
        i32::try_from(pid).context("the lock names an impossible process id")?,
    );
    nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGTERM)
        .with_context(|| format!("cannot signal the device (pid {pid})"))?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while holder(data_dir)?.is_some() {
        if std::time::Instant::now() > deadline {
            bail!("the device (pid {pid}) has not stopped after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("Stopped the device (pid {pid}).");
    Ok(ExitCode::SUCCESS)
}

fn check(file: &Path) -> anyhow::Result<ExitCode> {
    let scratch = ScratchDir::new()?;
    let device: Arc<Device> = Device::new(DeviceOptions {
        data_dir: scratch.0.clone(),
        net: NetKind::Sim,
    });
    let reports = match load_file(&device, file) {
        Ok(reports) => reports,
        Err(e) => vec![(Severity::Error, e.to_string())],
    };
    let mut stdout = io::stdout().lock();
    for (_, e) in &reports {
        writeln!(stdout, "{e}")?;
    }
    // A Comware line Duet skips as harmless (`clock timezone`) is reported, not a failure.
    Ok(
        if reports.iter().all(|(s, _)| *s == Severity::NotSupported) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

/// A private temporary data directory for `duet check`, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("duet-check-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)
            .with_context(|| format!("cannot create a scratch directory {}", path.display()))?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
