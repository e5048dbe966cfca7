//! Template definitions: the XML shape of a record, with substitution
//! slots for its values. Parsed once per chunk (the chunk's records share
//! them, by offset) into a small tree, with what the record reader needs
//! precomputed: where System/EventID is, which slots feed attributes, and
//! bounds on what rendering an instance costs.
//!
//! The token walk follows the `evtx` crate's (MS-EVEN6 BinXML); a token or
//! value it would reject, or one the fast path leaves to it (a BinXML value
//! in the template, a nested template instance), makes the template
//! unsupported, and its records go to the crate.

use std::collections::HashMap;
use std::rc::Rc;

use super::chunk::name_at;
use super::le::{slice, u16_at, u32_at, u8_at};
use super::utf16::{push_lossy, until_nul};
use super::value::{known_type, STRING};

/// Deepest element nesting read in one template: far below what would
/// render past serde_json's recursion limit even with nested instances.
const MAX_DEPTH: usize = 24;
/// A template definition's header: next offset, GUID, data size.
const DEFINITION_HEADER_SIZE: usize = 24;

/// One node of an element's content or of an attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Literal text (character and entity references resolved; processing
    /// instructions are empty text: they render nothing).
    Text(Box<str>),
    /// Substitution slot `id`; `optional` ones vanish when the value is empty.
    Sub { id: u16, optional: bool },
    /// A child element (index into [`Template::elems`]).
    Elem(u32),
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub name: Rc<str>,
    pub value: Vec<Node>,
}

#[derive(Debug, Clone)]
pub struct Elem {
    pub name: Rc<str>,
    /// Left out of an instance whose value in this slot is NULL.
    pub dependency: Option<u16>,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    /// The `Name` of a `Data` element, when it is one attribute of literal,
    /// non-empty text (EventData's member name).
    pub data_name: Option<Rc<str>>,
}

/// Where a record's System/EventID is, when the template is shaped so that
/// the crate's JSON holds no other `"EventID":` key before it (the
/// reference reads the first one). Windows makes EventID depend on its own
/// slot: a record that leaves it out falls back.
#[derive(Debug, Clone, Copy)]
pub struct EventIdPlan {
    pub system: u32,
    pub event_id: u32,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub elems: Vec<Elem>,
    pub root: u32,
    pub event_id: Option<EventIdPlan>,
    /// Slots used in attribute values (sorted).
    pub attr_slots: Vec<u16>,
    /// Upper bounds on the JSON bytes and tree nodes an instance renders,
    /// without its values; values count `max_uses` times.
    pub out_bound: usize,
    pub nodes: usize,
    pub max_uses: usize,
}

impl Template {
    pub fn elem(&self, i: u32) -> &Elem {
        &self.elems[i as usize]
    }

    pub fn root_elem(&self) -> &Elem {
        self.elem(self.root)
    }
}

/// The templates of one chunk, by definition offset (a failed parse is
/// kept too: every record using it falls back), and the names they use.
#[derive(Default)]
pub struct Templates {
    by_offset: Vec<(u32, Option<Template>)>,
    names: Names,
}

/// The chunk's names, decoded once each.
#[derive(Default)]
struct Names(HashMap<u32, Option<Rc<str>>>);

impl Names {
    fn get(&mut self, data: &[u8], offset: u32) -> Option<Rc<str>> {
        self.0
            .entry(offset)
            .or_insert_with(|| name_at(data, offset).map(Rc::from))
            .clone()
    }
}

impl Templates {
    /// The index of the template defined at `offset`, parsed on first use.
    pub fn get(&mut self, data: &[u8], offset: u32) -> Option<u32> {
        let at = match self.by_offset.iter().position(|(o, _)| *o == offset) {
            Some(at) => at,
            None => {
                let t = parse(data, offset, &mut self.names);
                self.by_offset.push((offset, t));
                self.by_offset.len() - 1
            }
        };
        self.by_offset[at].1.as_ref().map(|_| at as u32)
    }

    pub fn at(&self, index: u32) -> &Template {
        self.by_offset[index as usize]
            .1
            .as_ref()
            .expect("indices come from get()")
    }
}

/// An element whose start was read, until its start tag closes.
struct Open {
    name: Rc<str>,
    dependency: Option<u16>,
    attrs: Vec<Attr>,
    attr: Option<Attr>,
}

impl Open {
    /// The crate keeps an attribute only when something was read into it.
    fn end_attr(&mut self) {
        if let Some(a) = self.attr.take().filter(|a| !a.value.is_empty()) {
            self.attrs.push(a);
        }
    }

    fn close(mut self) -> Elem {
        self.end_attr();
        Elem {
            data_name: (&*self.name == "Data")
                .then(|| literal_name(&self.attrs))
                .flatten(),
            name: self.name,
            dependency: self.dependency,
            attrs: self.attrs,
            children: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Builder {
    elems: Vec<Elem>,
    stack: Vec<u32>,
    open: Option<Open>,
    roots: Vec<u32>,
}

impl Builder {
    fn push(&mut self, node: Node) -> Option<()> {
        match &mut self.open {
            // Inside a start tag, content goes to the current attribute;
            // before the first one the crate drops it.
            Some(open) => {
                if let Some(a) = &mut open.attr {
                    a.value.push(node);
                }
            }
            None => self.elems[*self.stack.last()? as usize].children.push(node),
        }
        Some(())
    }

    fn new_elem(&mut self, e: Elem) -> u32 {
        self.elems.push(e);
        (self.elems.len() - 1) as u32
    }

    fn attach(&mut self, e: u32) {
        match self.stack.last() {
            Some(&parent) => self.elems[parent as usize].children.push(Node::Elem(e)),
            None => self.roots.push(e),
        }
    }
}

/// A name reference at `at`: the string-table offset, and where the token
/// goes on (past the entry when it is defined right here).
fn name_ref(data: &[u8], at: usize) -> Option<(u32, usize)> {
    let offset = u32_at(data, at)?;
    let after = at + 4;
    if offset as usize == after {
        u16_at(data, after + 4)?;
        let len = usize::from(u16_at(data, after + 6)?);
        let end = after + 6 + 2 * len + 4;
        return (end <= data.len()).then_some((offset, end));
    }
    Some((offset, after))
}

/// A length-prefixed UTF-16 string at `at` (no NUL after it): its text up
/// to the first NUL, and where it ends.
fn counted_text(data: &[u8], at: usize) -> Option<(Box<str>, usize)> {
    let n = usize::from(u16_at(data, at)?);
    let units = slice(data, at + 2, 2 * n)?;
    let mut s = String::new();
    push_lossy(until_nul(units), &mut s);
    Some((s.into(), at + 2 + 2 * n))
}

/// The `Name` attribute's text, when it is the only one and literal.
fn literal_name(attrs: &[Attr]) -> Option<Rc<str>> {
    let mut names = attrs.iter().filter(|a| &*a.name == "Name");
    let (a, None) = (names.next()?, names.next()) else {
        return None;
    };
    let mut name = String::new();
    for n in &a.value {
        match n {
            Node::Text(t) => name.push_str(t),
            _ => return None,
        }
    }
    (!name.is_empty()).then(|| name.into())
}

/// Parse the template defined at `offset` of the chunk.
fn parse(data: &[u8], offset: u32, names: &mut Names) -> Option<Template> {
    let start = (offset as usize).checked_add(DEFINITION_HEADER_SIZE)?;
    let size = u32_at(data, offset as usize + 20)? as usize;
    let end = start.checked_add(size)?;
    if end > data.len() {
        return None;
    }
    let mut b = Builder::default();
    let mut at = start;
    while at < end {
        let token = u8_at(data, at)?;
        at += 1;
        match token {
            0x00 => break,
            0x01 | 0x41 => {
                let dependency = u16_at(data, at)?;
                u32_at(data, at + 2)?;
                let (name, next) = name_ref(data, at + 6)?;
                at = next;
                if token == 0x41 {
                    u32_at(data, at)?;
                    at += 4;
                }
                if b.open.is_some() {
                    return None;
                }
                b.open = Some(Open {
                    name: names.get(data, name)?,
                    dependency: (dependency != 0xffff).then_some(dependency),
                    attrs: Vec::new(),
                    attr: None,
                });
            }
            0x02 => {
                if b.stack.len() >= MAX_DEPTH {
                    return None;
                }
                let e = b.open.take()?.close();
                let e = b.new_elem(e);
                b.stack.push(e);
            }
            0x03 => {
                let e = b.open.take()?.close();
                let e = b.new_elem(e);
                b.attach(e);
            }
            0x04 => {
                let e = b.stack.pop()?;
                b.attach(e);
            }
            0x05 | 0x45 => {
                // Only text values: others (BinXML above all) go to the crate.
                if u8_at(data, at)? != STRING {
                    return None;
                }
                let (text, next) = counted_text(data, at + 1)?;
                at = next;
                b.push(Node::Text(text))?;
            }
            0x06 | 0x46 => {
                let (name, next) = name_ref(data, at)?;
                at = next;
                let name = names.get(data, name)?;
                let open = b.open.as_mut()?;
                open.end_attr();
                open.attr = Some(Attr {
                    name,
                    value: Vec::new(),
                });
            }
            0x09 | 0x49 => {
                let (name, next) = name_ref(data, at)?;
                at = next;
                let name = names.get(data, name)?;
                let text = match &*name {
                    "quot" => "\"".to_string(),
                    "apos" => "'".to_string(),
                    "amp" => "&".to_string(),
                    "lt" => "<".to_string(),
                    "gt" => ">".to_string(),
                    other => format!("&{other};"),
                };
                b.push(Node::Text(text.into()))?;
            }
            0x0a => {
                let (name, next) = name_ref(data, at)?;
                at = next;
                names.get(data, name)?;
                b.push(Node::Text("".into()))?;
            }
            0x0b => {
                let (_, next) = counted_text(data, at)?;
                at = next;
                b.push(Node::Text("".into()))?;
            }
            0x0d | 0x0e => {
                let id = u16_at(data, at)?;
                if !known_type(u8_at(data, at + 2)?) {
                    return None;
                }
                at += 3;
                b.push(Node::Sub {
                    id,
                    optional: token == 0x0e,
                })?;
            }
            0x0f => {
                slice(data, at, 3)?;
                at += 3;
            }
            0x07 | 0x47 => {
                let (text, next) = counted_text(data, at)?;
                at = next;
                b.push(Node::Text(text))?;
            }
            0x08 | 0x48 => {
                let ch = u16_at(data, at)?;
                at += 2;
                let text = match char::from_u32(u32::from(ch)) {
                    Some(c) => c.to_string(),
                    None => format!("&#{ch};"),
                };
                b.push(Node::Text(text.into()))?;
            }
            // 0x0c (an instance inside a definition) and unknown tokens.
            _ => return None,
        }
    }
    if b.open.is_some() || !b.stack.is_empty() || b.roots.len() != 1 {
        return None;
    }
    Some(finish(b.elems, b.roots[0]))
}

fn finish(elems: Vec<Elem>, root: u32) -> Template {
    let mut uses: Vec<usize> = Vec::new();
    let mut attr_slots = Vec::new();
    let (mut out_bound, mut nodes) = (0usize, 0usize);
    let count = |n: &Node, uses: &mut Vec<usize>, out_bound: &mut usize| match n {
        Node::Text(t) => *out_bound += 16 + 6 * t.len(),
        Node::Sub { id, .. } => {
            let id = usize::from(*id);
            if uses.len() <= id {
                uses.resize(id + 1, 0);
            }
            uses[id] += 1;
            *out_bound += 16;
        }
        Node::Elem(_) => {}
    };
    for e in &elems {
        out_bound += 64 + 6 * e.name.len();
        nodes += 1 + e.attrs.len() + e.children.len();
        for a in &e.attrs {
            out_bound += 32 + 6 * a.name.len();
            nodes += a.value.len();
            for n in &a.value {
                count(n, &mut uses, &mut out_bound);
                if let Node::Sub { id, .. } = n {
                    attr_slots.push(*id);
                }
            }
        }
        for n in &e.children {
            count(n, &mut uses, &mut out_bound);
        }
    }
    attr_slots.sort_unstable();
    attr_slots.dedup();
    let mut t = Template {
        elems,
        root,
        event_id: None,
        attr_slots,
        out_bound,
        nodes,
        max_uses: uses.iter().copied().max().unwrap_or(0).max(1),
    };
    t.event_id = event_id_plan(&t);
    t
}

/// Names whose keys could come before System/EventID's in the JSON, or make
/// a data container there.
fn blocks_event_id(name: &str) -> bool {
    matches!(name, "EventID" | "EventData" | "UserData")
}

/// `Event` > `System` (its first element child) > `EventID`, when nothing
/// rendered before EventID can hold an `EventID` key: no such element or
/// attribute, and no substitution in element content (a BinXML value there
/// could hold any element).
fn event_id_plan(t: &Template) -> Option<EventIdPlan> {
    let root = t.root_elem();
    if &*root.name != "Event" || root.attrs.iter().any(|a| blocks_event_id(&a.name)) {
        return None;
    }
    let system = first_elem(&root.children)?;
    let sys = t.elem(system);
    if &*sys.name != "System"
        || sys.dependency.is_some()
        || sys.attrs.iter().any(|a| blocks_event_id(&a.name))
    {
        return None;
    }
    for n in &sys.children {
        match n {
            Node::Text(_) => {}
            Node::Sub { .. } => return None,
            Node::Elem(e) => {
                let el = t.elem(*e);
                if &*el.name == "EventID" {
                    return Some(EventIdPlan {
                        system,
                        event_id: *e,
                    });
                }
                if !plain_subtree(t, *e) {
                    return None;
                }
            }
        }
    }
    None
}

/// The first element among `nodes`, when no substitution comes before it.
fn first_elem(nodes: &[Node]) -> Option<u32> {
    for n in nodes {
        match n {
            Node::Text(_) => {}
            Node::Sub { .. } => return None,
            Node::Elem(e) => return Some(*e),
        }
    }
    None
}

/// Whether the subtree at `e` holds no blocking name and no substitution in
/// element content.
fn plain_subtree(t: &Template, e: u32) -> bool {
    let el = t.elem(e);
    !blocks_event_id(&el.name)
        && el.attrs.iter().all(|a| !blocks_event_id(&a.name))
        && el.children.iter().all(|n| match n {
            Node::Text(_) => true,
            Node::Sub { .. } => false,
            Node::Elem(c) => plain_subtree(t, *c),
        })
}
