//! [`TemplateExtractor`]: EVTX records read straight from their template
//! instances, never rendered. Most records are not process creations and
//! are counted from their EventID alone; the others get the fields a
//! [`RawEvent`] holds. What the fast path does not read goes to the `evtx`
//! crate ([`EvtxCrateExtractor`], the reference): the whole chunk when its
//! header, string table or record walk is irregular, else record by record,
//! each counted as a [`Note::EvtxFallback`]. Both give the same sink calls
//! (`tests/evtx_differential.rs` checks it).

use crate::event::{EventKind, Origin, RawEvent};
use crate::parse::evtx::{ChunkExtractor, EvtxCrateExtractor};
use crate::parse::{Note, Sink, Skip};

use super::chunk::{self, Span};
use super::fields::View;
use super::instance::{self, bounds, Record};
use super::template::Templates;

/// What the JSON rendering of one pass over a chunk may cost before the
/// crate refuses records (64 MiB, 2^20 nodes, with a record's worth kept in
/// reserve): chunks whose records could come near fall back whole. Real
/// chunks render a few hundred KiB.
const MAX_CHUNK_OUT: usize = 32 << 20;
const MAX_CHUNK_NODES: usize = 512 << 10;
/// And one record (16 MiB, 2^18 nodes).
const MAX_RECORD_OUT: usize = 8 << 20;
const MAX_RECORD_NODES: usize = 128 << 10;

/// The template-aware extractor (the default).
#[derive(Default)]
pub struct TemplateExtractor {
    reference: EvtxCrateExtractor,
}

/// What the fast path made of one record.
enum Outcome {
    Event(RawEvent),
    Fallback,
}

impl ChunkExtractor for TemplateExtractor {
    fn extract(&self, number: u64, offset: u64, data: &[u8], sink: &dyn Sink) {
        let counted = Counted(sink);
        let Some((spans, outcomes)) = fast_chunk(data) else {
            return self.reference.extract(number, offset, data, &counted);
        };
        let origin = |i: usize| Origin {
            offset: offset + spans[i].start as u64,
            line: None,
            chunk: Some(number),
        };
        if !outcomes.iter().any(|o| matches!(o, Outcome::Fallback)) {
            for (i, o) in outcomes.into_iter().enumerate() {
                if let Outcome::Event(ev) = o {
                    sink.event(ev, origin(i));
                }
            }
            return;
        }
        // The reference reads the records the fast path does not, in
        // order with the others (it walks the same records).
        let mut outcomes: Vec<Option<Outcome>> = outcomes.into_iter().map(Some).collect();
        let mut reached = 0;
        self.reference
            .extract_with(number, offset, data, &counted, &mut |i| {
                reached = i + 1;
                match outcomes.get_mut(i).and_then(Option::take) {
                    Some(Outcome::Event(ev)) => {
                        sink.event(ev, origin(i));
                        true
                    }
                    Some(Outcome::Fallback) | None => false,
                }
            });
        // Should it stop short, the rest is still accounted for.
        for (i, o) in outcomes.into_iter().enumerate().skip(reached) {
            match o {
                Some(Outcome::Event(ev)) => sink.event(ev, origin(i)),
                Some(Outcome::Fallback) => sink.skip(
                    Skip::record(origin(i).offset, "record not reached by the EVTX parser")
                        .chunk(number)
                        .record_id(spans[i].id),
                ),
                None => {}
            }
        }
    }
}

/// The records of a chunk as the fast path reads them; None when the whole
/// chunk is the reference's.
fn fast_chunk(data: &[u8]) -> Option<(Vec<Span>, Vec<Outcome>)> {
    let header = chunk::header(data)?;
    if !chunk::strings_readable(data) {
        return None;
    }
    let spans = chunk::records(data, &header)?;
    let mut templates = Templates::default();
    let mut rec = Record::default();
    let (mut out, mut nodes) = (0usize, 0usize);
    let outcomes = spans
        .iter()
        .map(
            |span| match read_record(data, span, &mut templates, &mut rec) {
                Some((ev, (o, n))) => {
                    out += o;
                    nodes += n;
                    match o <= MAX_RECORD_OUT && n <= MAX_RECORD_NODES {
                        true => Outcome::Event(ev),
                        false => Outcome::Fallback,
                    }
                }
                None => Outcome::Fallback,
            },
        )
        .collect();
    (out <= MAX_CHUNK_OUT && nodes <= MAX_CHUNK_NODES).then_some((spans, outcomes))
}

/// One record's event, with the bounds on what the crate would render for
/// it; None when the fast path does not read it.
fn read_record(
    data: &[u8],
    span: &Span,
    templates: &mut Templates,
    rec: &mut Record,
) -> Option<(RawEvent, (usize, usize))> {
    rec.clear();
    let (start, end) = (span.binxml.start, span.binxml.end);
    let at = start + instance::instance_offset(&data[start..end])?;
    let (_, stop) = instance::read(data, at, end, templates, 0, rec)?;
    if !instance::ends_at(data, stop, end) {
        return None;
    }
    let plan = templates.at(rec.insts[0].template).event_id?;
    let view = View {
        data,
        rec,
        templates,
    };
    let id = view.event_id(plan)?;
    let ev = if EventKind::may_be_process_creation(id) {
        view.raw_event(plan, id, span.id)?
    } else {
        RawEvent {
            event_id: id,
            record_id: Some(span.id),
            ..RawEvent::default()
        }
    };
    Some((ev, bounds(rec, templates)))
}

/// Passes everything on, and counts what the reference read in the fast
/// path's place.
struct Counted<'a>(&'a dyn Sink);

impl Sink for Counted<'_> {
    fn event(&self, event: RawEvent, origin: Origin) {
        self.0.note(Note::EvtxFallback);
        self.0.event(event, origin);
    }
    fn skip(&self, skip: Skip) {
        self.0.note(Note::EvtxFallback);
        self.0.skip(skip);
    }
    fn note(&self, note: Note) {
        self.0.note(note);
    }
    fn progress(&self, bytes: u64) {
        self.0.progress(bytes);
    }
}
