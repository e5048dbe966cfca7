//! Output formats: each opens its [`Sink`] (EVTX, or the line sink shared by the text formats).

use crate::error::{Error, Result};
use crate::model::Event;
use crate::sink::Sink;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Binary Windows event log files.
    Evtx,
    /// evtx_dump-shaped JSON, one object per line.
    Jsonl,
    /// Winlogbeat 8 / ECS JSON lines.
    Ecs,
    /// Windows event XML, one `<Event>` per line.
    Xml,
}

impl Format {
    /// File extension for this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::Jsonl => "jsonl",
            Format::Ecs => "ecs.jsonl",
            Format::Xml => "xml",
        }
    }

    /// Name as accepted on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::Jsonl => "jsonl",
            Format::Ecs => "ecs",
            Format::Xml => "xml",
        }
    }

    /// Opens a sink writing this format to `path`.
    pub fn create(self, path: &Path) -> Result<Box<dyn Sink>> {
        Ok(match self {
            Format::Evtx => Box::new(crate::evtx_writer::EvtxSink::create(path)?),
            Format::Jsonl => Box::new(LineSink::create(path, crate::jsonl::render)?),
            Format::Ecs => Box::new(LineSink::create(path, crate::ecs::render)?),
            Format::Xml => Box::new(LineSink::create(path, crate::xml::render)?),
        })
    }
}

impl std::str::FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "evtx" => Ok(Format::Evtx),
            "jsonl" | "json" => Ok(Format::Jsonl),
            "ecs" | "winlogbeat" => Ok(Format::Ecs),
            "xml" => Ok(Format::Xml),
            _ => Err(Error::InvalidFormat(s.to_string())),
        }
    }
}

/// Renders one event as one line (without the newline).
pub type RenderFn = fn(&Event, &mut String);

/// Line-oriented text sink shared by the JSONL, ECS and XML formats.
pub struct LineSink {
    out: BufWriter<File>,
    path: PathBuf,
    render: RenderFn,
    line: String,
    bytes: u64,
}

impl LineSink {
    /// Creates `path`.
    pub fn create(path: &Path, render: RenderFn) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(LineSink {
            out: BufWriter::with_capacity(256 * 1024, file),
            path: path.to_path_buf(),
            render,
            line: String::with_capacity(8192),
            bytes: 0,
        })
    }
}

impl Sink for LineSink {
    fn write(&mut self, ev: &Event) -> Result<()> {
        self.line.clear();
        (self.render)(ev, &mut self.line);
        self.line.push('\n');
        self.bytes += self.line.len() as u64;
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|e| Error::io(&self.path, e))
    }

    fn finish(mut self: Box<Self>) -> Result<u64> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))?;
        Ok(self.bytes)
    }
}
