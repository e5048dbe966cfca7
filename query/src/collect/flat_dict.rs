//! A segment column's dictionary written out flat, for a group-by whose
//! answer is too large to harvest at once.
//!
//! A segment's groups are harvested in pieces (its table is emptied into
//! the merge whenever it passes its share of the budget), and each piece
//! decodes its values from the column's sstable dictionary: one pass over
//! the blocks that hold them. With a wide answer, every piece touches most
//! blocks of a large column (a command line, a process id), so the segment
//! decodes its dictionaries about as many times as it is emptied. Once the
//! harvests have decoded a good share of a dictionary ([`worth_it`]), a
//! [`FlatDict`] holds its terms one after the other in a temporary file,
//! with their offsets in another, both mapped: a value is then a slice, and
//! the dictionary is decoded once more in all.
//!
//! The maps are read-only shared maps of files in the temporary folder,
//! which [`crate::memory`] watches like an index: their pages are given
//! back when the process holds too many, so memory stays bounded whatever
//! the column.

use std::fs::File;
use std::io::{self, BufWriter, Write};

use memmap2::Mmap;
use tantivy::columnar::StrColumn;

/// Terms below which a dictionary is decoded from its blocks: a few blocks
/// cost less than two files.
const MIN_TERMS: usize = 256;

/// Whether a dictionary of `terms` terms, of which the segment's harvests
/// have decoded `decoded` values so far, is worth writing out flat. A value
/// decoded from the blocks costs the decoding of about half a block (tens
/// of terms) when the values are sparse; writing out flat decodes every
/// term once. Past a sixteenth, the harvests have spent about what the copy
/// costs, and a wide answer keeps harvesting; a narrow one over a large
/// segment never pays for it.
pub fn worth_it(terms: usize, decoded: usize) -> bool {
    terms >= MIN_TERMS && decoded >= terms / 16
}

/// Every term of one dictionary, in ordinal order.
pub struct FlatDict {
    terms: Mmap,
    /// `n + 1` little-endian `u64` offsets into `terms`.
    offsets: Mmap,
    n: usize,
}

impl FlatDict {
    /// Write out the dictionary of `col` in one pass.
    pub fn build(col: &StrColumn) -> io::Result<FlatDict> {
        FlatDict::write(|push| {
            let mut stream = col.dictionary().stream()?;
            let mut n = 0;
            while stream.advance() {
                // Ordinals are the stream's positions: a gap would shift them.
                if stream.term_ord() != n {
                    return Err(io::Error::other("dictionary stream skipped an ordinal"));
                }
                push(stream.key())?;
                n += 1;
            }
            Ok(())
        })
    }

    /// Write out the terms of the sorted ordinals `ords` of `col` (term `i`
    /// is the term of `ords[i]`), in one pass over the blocks that hold
    /// them.
    pub fn build_some(col: &StrColumn, ords: &[u64]) -> io::Result<FlatDict> {
        FlatDict::write(|push| {
            let (mut written, mut n) = (Ok(()), 0);
            let found = col.dictionary().sorted_ords_to_term_cb(ords, |term| {
                if written.is_ok() {
                    written = push(term);
                    n += 1;
                }
            })?;
            written?;
            match found && n == ords.len() {
                true => Ok(()),
                false => Err(io::Error::other(
                    "an ordinal is missing from its dictionary",
                )),
            }
        })
    }

    /// The terms `fill` pushes, written out and mapped.
    fn write(
        fill: impl FnOnce(&mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()>,
    ) -> io::Result<FlatDict> {
        crate::memory::watch(&std::env::temp_dir());
        let (terms_file, offsets_file) = (tempfile::tempfile()?, tempfile::tempfile()?);
        let mut terms = BufWriter::with_capacity(1 << 16, &terms_file);
        let mut offsets = BufWriter::with_capacity(1 << 16, &offsets_file);
        let mut pages = crate::memory::Pacer::new(crate::memory::PACE);
        let (mut at, mut n) = (0u64, 0usize);
        offsets.write_all(&at.to_le_bytes())?;
        fill(&mut |term| {
            pages.step();
            terms.write_all(term)?;
            at += term.len() as u64;
            n += 1;
            offsets.write_all(&at.to_le_bytes())
        })?;
        terms.flush()?;
        offsets.flush()?;
        drop((terms, offsets));
        Ok(FlatDict {
            terms: map(&terms_file)?,
            offsets: map(&offsets_file)?,
            n,
        })
    }

    /// How many terms it holds.
    pub fn count(&self) -> usize {
        self.n
    }

    /// The bytes of term `ord` (of the `ord`th term written); None past
    /// the end.
    pub fn term(&self, ord: u64) -> Option<&[u8]> {
        let ord = usize::try_from(ord).ok().filter(|&o| o < self.n)?;
        let offset = |i: usize| {
            let bytes = self.offsets.get(i * 8..i * 8 + 8)?;
            usize::try_from(u64::from_le_bytes(bytes.try_into().ok()?)).ok()
        };
        self.terms.get(offset(ord)?..offset(ord + 1)?)
    }
}

/// Map a file this module wrote and no one else holds.
fn map(file: &File) -> io::Result<Mmap> {
    // SAFETY: the file is an unnamed temporary file created above: no other
    // process can open it, and this process never writes to it again, so
    // the mapped bytes cannot change while the map lives.
    unsafe { Mmap::map(file) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{Schema, TextOptions};
    use tantivy::{doc, Index};

    /// The str column of `values` (one document each) in a RAM index.
    fn column(values: &[String]) -> StrColumn {
        let mut schema = Schema::builder();
        let f = schema.add_text_field("f", TextOptions::default().set_fast("raw"));
        let index = Index::create_in_ram(schema.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for v in values {
            writer.add_document(doc!(f => v.as_str())).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let reader = searcher.segment_reader(0);
        reader.fast_fields().str("f").unwrap().unwrap()
    }

    #[test]
    fn every_term_reads_as_the_dictionary_decodes_it() {
        // Several dictionary blocks, shared prefixes, an empty-ish value,
        // multi-byte text and duplicates.
        let values: Vec<String> = (0..3000)
            .map(|i| match i % 4 {
                0 => format!("C:\\Windows\\System32\\cmd.exe /c echo {i}"),
                1 => format!("{}", i * 7919 % 1000),
                2 => format!("ünïcode-{}", i % 300),
                _ => "x".repeat(i % 50 + 1),
            })
            .collect();
        let col = column(&values);
        let flat = FlatDict::build(&col).unwrap();
        let n = col.num_terms() as u64;
        assert!(n > 1000, "{n} terms");
        for ord in 0..n {
            let mut expected = String::new();
            assert!(col.ord_to_str(ord, &mut expected).unwrap());
            assert_eq!(flat.term(ord), Some(expected.as_bytes()), "ord {ord}");
        }
        assert_eq!(flat.term(n), None);
        assert_eq!(flat.term(u64::MAX), None);
        // Some terms: every third, and the last.
        let some: Vec<u64> = (0..n).filter(|o| o % 3 == 1 || *o == n - 1).collect();
        let flat = FlatDict::build_some(&col, &some).unwrap();
        for (i, &ord) in some.iter().enumerate() {
            let mut expected = String::new();
            assert!(col.ord_to_str(ord, &mut expected).unwrap());
            assert_eq!(flat.term(i as u64), Some(expected.as_bytes()), "ord {ord}");
        }
        assert_eq!(flat.term(some.len() as u64), None);
        // An ordinal the dictionary does not have is an error.
        assert!(FlatDict::build_some(&col, &[0, n + 5]).is_err());
    }
}
