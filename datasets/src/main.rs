//! `evidx-gen` command line: a thin layer that validates arguments and calls the library.

use anyhow::{Context, Result};
use clap::Parser;
use evidx_gen::{size::parse_size, time::days_from_civil, Format, RunConfig};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
OUTPUT LAYOUT
  DIR/<host-fqdn>/<YYYY-MM-DD>/Sysmon.<ext>                  Microsoft-Windows-Sysmon/Operational
  DIR/<host-fqdn>/<YYYY-MM-DD>/Security.<ext>                Security (4624, 4688, 4689)
  DIR/<host-fqdn>/<YYYY-MM-DD>/PowerShell-Operational.<ext>  4103/4104 script logging
  DIR/expected/getnettcpconnection_with_powershell.csv       exact tstats result of the ESCU
                                                             detection over the generated data
  DIR/expected/planted.csv      every planted positive and near miss with file and record id
  DIR/manifest.json             seed, format, counts and per-file record-id ranges
  <ext> is evtx, jsonl, ecs.jsonl or xml.

SIZE AND DETERMINISM
  --size is converted to an event count (about 1.2 KB of EVTX per event), independent of
  --format, so the same seed and size give the same events in every format; EVTX output lands
  close to the requested size, the text formats differ by their encoding overhead. Output bytes
  are identical for the same seed, size and format.

EXAMPLES
  evidx-gen --seed 1 --size 3MB --format jsonl -o datasets/sample
  evidx-gen --seed 7 --size 10GiB --format evtx -o /data/gen-10g
  evidx-gen --seed 7 --events 50000 --format xml --hosts 5 --days 2 -o /tmp/x";

/// Generate a realistic Windows event collection with known detection answers.
///
/// Writes Sysmon, Security and PowerShell logs for a simulated domain (hosts, users, process
/// trees with Zipf-skewed frequencies, command lines from a few bytes to 16,000 characters,
/// non-ASCII names), one file per host, day and channel, as EVTX that Windows tools and the
/// `evtx` crate read, or as evtx_dump JSON lines, Winlogbeat 8 ECS JSON lines or Windows XML.
/// Planted "Get-NetTcpConnection with PowerShell" executions (and near misses) come with the
/// exact expected Splunk tstats table.
#[derive(Debug, Parser)]
#[command(name = "evidx-gen", version, after_long_help = AFTER_HELP, after_help = "See --help for the output layout and examples.")]
struct Cli {
    /// Seed for every random choice; same seed, size and format give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Target total size: bytes (123456) or with a unit: kB/MB/GB/TB (powers of 1000),
    /// KiB/MiB/GiB/TiB (powers of 1024), e.g. 5MB, 10GiB, 1.5GB.
    #[arg(long, value_parser = parse_size_arg, required_unless_present = "events")]
    size: Option<u64>,

    /// Generate exactly this many events instead of deriving the count from --size.
    #[arg(long, conflicts_with = "size")]
    events: Option<u64>,

    /// Output format: evtx (binary event logs), jsonl (evtx_dump JSON, one object per line),
    /// ecs (Winlogbeat 8 / ECS JSON lines) or xml (one Windows <Event> per line).
    #[arg(long, short = 'f', value_parser = parse_format_arg)]
    format: Format,

    /// Output directory (created if missing; existing generated files are overwritten).
    #[arg(long = "out", short = 'o', value_name = "DIR")]
    out: PathBuf,

    /// Number of planted positives for the GetNetTcpconnection detection
    /// [default: 40 per GB, at least 12]; about half as many near misses are added.
    #[arg(long, value_name = "N")]
    planted: Option<usize>,

    /// Number of hosts [default: grows with the square root of the event count, 3..400].
    #[arg(long, value_name = "N")]
    hosts: Option<usize>,

    /// Number of days covered [default: 2, 3 or 7 depending on size].
    #[arg(long, value_name = "N")]
    days: Option<usize>,

    /// First day of the collection (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2024-05-06", value_parser = parse_date_arg)]
    start: i64,

    /// Worker threads [default: all cores].
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,

    /// Print nothing on success.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).map_err(|e| e.to_string())
}

fn parse_format_arg(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

fn parse_date_arg(s: &str) -> Result<i64, String> {
    let parts: Vec<&str> = s.split('-').collect();
    let bad = || format!("invalid date {s:?} (expected YYYY-MM-DD)");
    if parts.len() != 3 {
        return Err(bad());
    }
    let y: i64 = parts[0].parse().map_err(|_| bad())?;
    let m: u32 = parts[1].parse().map_err(|_| bad())?;
    let d: u32 = parts[2].parse().map_err(|_| bad())?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("evidx-gen: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("configuring the thread pool")?;
    }
    let cfg = RunConfig {
        seed: cli.seed,
        size: cli.size.unwrap_or(0),
        events: cli.events,
        format: cli.format,
        out: cli.out.clone(),
        planted: cli.planted,
        hosts: cli.hosts,
        days: cli.days,
        start_day: cli.start,
    };
    let s =
        evidx_gen::run(&cfg).with_context(|| format!("generating into {}", cli.out.display()))?;
    if !cli.quiet {
        let mb = s.bytes as f64 / 1e6;
        println!(
            "wrote {} events in {} files, {:.1} MB {} to {} in {:.2} s ({:.0} MB/s); planted {} positives, {} near misses; expected table: {} groups",
            s.events,
            s.files.len(),
            mb,
            cfg.format.name(),
            cli.out.display(),
            s.seconds,
            mb / s.seconds.max(1e-9),
            s.positives,
            s.near_misses,
            s.table.groups.len()
        );
    }
    Ok(())
}
