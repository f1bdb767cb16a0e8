//! `fieldattest run`: the device daemon.

use super::flags;
use super::{print, Command, Exit, Opts};
use fieldattest_agent::{config, daemon};
use std::path::PathBuf;

pub const COMMAND: Command = Command {
    name: "run",
    bit: flags::RUN,
    usage: "fieldattest run [--config FILE] [--check-config | --once]",
    about: "The device daemon: scan + attest at start and every interval (with \
            jitter) at the lowest CPU and I/O priority, spool each token \
            durably, deliver it to the collector (session nonce, retries with \
            backoff), upload the SBOM when the collector lacks it. \
            Configuration: /etc/fieldattest/agent.toml (see \
            agent/dist/agent.toml). SIGHUP reloads it; SIGTERM stops.",
    operands: &[],
    run,
};

/// Loads the configuration and checks that its TLS material and accept file
/// are readable now, not at 3 am.
fn load(path: &std::path::Path) -> Result<config::Config, String> {
    let c = config::load(path)?;
    if let Some(col) = &c.collector {
        fieldattest_agent::net::Client::new(col)?;
    }
    if let Some(a) = &c.accept {
        super::scan::load_accept(a)?;
    }
    Ok(c)
}

fn run(o: Opts) -> Exit {
    let path = o
        .config
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    let cfg = match load(&path) {
        Ok(c) => c,
        Err(e) => {
            say!("fieldattest: configuration: {e}");
            return Exit::Usage;
        }
    };
    if o.check_config {
        return print(format!("{}: configuration OK\n", path.display()));
    }
    let level = match cfg.log_level.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "debug" => tracing::Level::DEBUG,
        "trace" => tracing::Level::TRACE,
        _ => tracing::Level::INFO,
    };
    // Log lines in tracing-subscriber's fmt format through the agent's own
    // small subscriber (agent/src/log.rs); a line that cannot be written is
    // dropped, never a panic.
    fieldattest_agent::log::init(level);
    if let Err(e) = fieldattest_agent::sys::settle_in(&cfg) {
        tracing::error!("{e}");
        return Exit::Failed;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("runtime: {e}");
            return Exit::Failed;
        }
    };
    let r = if o.once {
        rt.block_on(daemon::once(&cfg))
            .map(|n| tracing::info!(delivered = n, "one cycle done"))
    } else {
        rt.block_on(daemon::run(cfg, || config::load(&path)))
    };
    // A scan abandoned by SIGTERM is not waited for: nothing of it is spooled.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    match r {
        Ok(()) => Exit::Clean,
        Err(e) => {
            tracing::error!("{e}");
            Exit::Failed
        }
    }
}
