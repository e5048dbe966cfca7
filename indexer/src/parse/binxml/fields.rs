//! The fields of a [`RawEvent`], read from a record's instances the way
//! `event_from_json` reads them from the `evtx` crate's JSON rendering,
//! without rendering it:
//!
//! - a member `System/X` is the first child element named X left in the
//!   instance (elements whose dependency slot is NULL are left out; a
//!   nested instance places its root element);
//! - an element's text is its non-element content, concatenated, when some
//!   of it is not empty (the JSON `#text`, or the element's value);
//! - an attribute's text likewise, the last attribute of that name with
//!   text winning (as a JSON object with a repeated key does);
//! - EventData: `Data` elements with literal, distinct `Name`s, in order,
//!   each with its text (empty ones included), GUIDs as Windows writes them.
//!
//! Every other shape (a Data element holding elements, dynamic names,
//! EventData with text of its own…) returns None: the record falls back.

use crate::event::RawEvent;
use crate::parse::json::windows_guid;
use crate::time::parse_micros;

use super::instance::{Record, Value, NOT_NESTED};
use super::template::{Elem, EventIdPlan, Node, Template, Templates};
use super::value::{is_empty, push_text, UINT16, UINT32, UINT8};

/// An element of one instance.
#[derive(Debug, Clone, Copy)]
struct ElemRef {
    inst: u32,
    elem: u32,
}

/// One node of resolved content.
enum Item<'a> {
    Elem(ElemRef),
    Text(&'a str),
    Value(Value),
}

/// A record's instances, read.
pub struct View<'a> {
    pub data: &'a [u8],
    pub rec: &'a Record,
    pub templates: &'a Templates,
}

impl<'a> View<'a> {
    fn template(&self, inst: u32) -> &'a Template {
        self.templates.at(self.rec.insts[inst as usize].template)
    }

    fn elem(&self, r: ElemRef) -> &'a Elem {
        self.template(r.inst).elem(r.elem)
    }

    fn value(&self, inst: u32, slot: u16) -> Option<Value> {
        self.rec.values(inst).get(usize::from(slot)).copied()
    }

    /// Whether the element is rendered: its dependency slot is not NULL.
    fn present(&self, r: ElemRef) -> bool {
        match self.elem(r).dependency {
            Some(slot) => !self.value(r.inst, slot).is_some_and(|v| v.is_null()),
            None => true,
        }
    }

    /// Calls `f` on each resolved node of `nodes` (of instance `inst`)
    /// until it returns false.
    fn each(&self, inst: u32, nodes: &'a [Node], f: &mut dyn FnMut(Item<'a>) -> bool) {
        for n in nodes {
            let item = match n {
                Node::Text(t) => Item::Text(t),
                Node::Elem(e) => {
                    let r = ElemRef { inst, elem: *e };
                    if !self.present(r) {
                        continue;
                    }
                    Item::Elem(r)
                }
                Node::Sub { id, optional } => {
                    let Some(v) = self.value(inst, *id) else {
                        continue;
                    };
                    if v.nested != NOT_NESTED {
                        Item::Elem(ElemRef {
                            inst: v.nested,
                            elem: self.template(v.nested).root,
                        })
                    } else if *optional && is_empty(v.ty, v.bytes(self.data)) {
                        continue;
                    } else {
                        Item::Value(v)
                    }
                }
            };
            if !f(item) {
                return;
            }
        }
    }

    /// The first rendered child element of `parent` named `name`.
    fn child(&self, parent: ElemRef, name: &str) -> Option<ElemRef> {
        let mut found = None;
        self.each(parent.inst, &self.elem(parent).children, &mut |item| {
            if let Item::Elem(r) = item {
                if &*self.elem(r).name == name {
                    found = Some(r);
                    return false;
                }
            }
            true
        });
        found
    }

    /// The text of `nodes`: Ok(None) when none of it is content, Err when
    /// it holds a value the fast path does not render (or, with
    /// `no_elements`, an element).
    fn text(&self, inst: u32, nodes: &'a [Node], no_elements: bool) -> Result<Option<String>, ()> {
        let (mut text, mut content, mut ok) = (String::new(), false, true);
        self.each(inst, nodes, &mut |item| {
            match item {
                Item::Elem(_) => ok = !no_elements,
                Item::Text(t) => {
                    content |= !t.is_empty();
                    text.push_str(t);
                }
                Item::Value(v) => {
                    let b = v.bytes(self.data);
                    text.reserve(b.len());
                    content |= !is_empty(v.ty, b);
                    ok = push_text(v.ty, b, &mut text).is_some();
                }
            }
            ok
        });
        match ok {
            true => Ok(content.then_some(text)),
            false => Err(()),
        }
    }

    fn elem_text(&self, r: Option<ElemRef>) -> Result<Option<String>, ()> {
        match r {
            Some(r) => self.text(r.inst, &self.elem(r).children, false),
            None => Ok(None),
        }
    }

    fn attr_text(&self, r: Option<ElemRef>, name: &str) -> Result<Option<String>, ()> {
        let Some(r) = r else { return Ok(None) };
        let mut last = None;
        for a in self.elem(r).attrs.iter().filter(|a| &*a.name == name) {
            if let Some(t) = self.text(r.inst, &a.value, true)? {
                last = Some(t);
            }
        }
        Ok(last)
    }

    /// The record's EventID, when its template has the plain shape the
    /// reference reads it from (`plan`) and it holds a number.
    pub fn event_id(&self, plan: EventIdPlan) -> Option<u32> {
        let r = ElemRef {
            inst: 0,
            elem: plan.event_id,
        };
        if !self.present(r) {
            return None;
        }
        let nodes = &self.elem(r).children;
        // Mostly one unsigned value: read without making its text.
        if let [Node::Sub { id, .. }] = &nodes[..] {
            let v = self.value(0, *id)?;
            let b = v.bytes(self.data);
            match (v.ty, b.len()) {
                (UINT8, 1) => return Some(u32::from(b[0])),
                (UINT16, 2) => return Some(u32::from(u16::from_le_bytes([b[0], b[1]]))),
                (UINT32, 4) => return Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                _ => {}
            }
        }
        let text = self.text(0, nodes, true).ok()??;
        u32::try_from(text.trim().parse::<u64>().ok()?).ok()
    }

    /// The whole event, for a possible process creation.
    pub fn raw_event(&self, plan: EventIdPlan, event_id: u32, header_id: u64) -> Option<RawEvent> {
        self.raw_event_or_err(plan, event_id, header_id).ok()
    }

    fn raw_event_or_err(
        &self,
        plan: EventIdPlan,
        event_id: u32,
        header_id: u64,
    ) -> Result<RawEvent, ()> {
        let system = ElemRef {
            inst: 0,
            elem: plan.system,
        };
        let root = ElemRef {
            inst: 0,
            elem: self.template(0).root,
        };
        let sys = |name: &str| self.child(system, name);
        Ok(RawEvent {
            provider: self.attr_text(sys("Provider"), "Name")?.unwrap_or_default(),
            event_id,
            channel: self.elem_text(sys("Channel"))?.unwrap_or_default(),
            computer: self.elem_text(sys("Computer"))?.unwrap_or_default(),
            record_id: Some(
                self.elem_text(sys("EventRecordID"))?
                    .and_then(|t| t.trim().parse().ok())
                    .unwrap_or(header_id),
            ),
            time_created: self
                .attr_text(sys("TimeCreated"), "SystemTime")?
                .as_deref()
                .and_then(parse_micros),
            keywords: self.elem_text(sys("Keywords"))?,
            user_sid: self.attr_text(sys("Security"), "UserID")?,
            data: match self.child(root, "EventData") {
                Some(ed) => self.event_data(ed)?,
                None => Vec::new(),
            },
        })
    }

    /// EventData's named `Data` values, in order.
    fn event_data(&self, ed: ElemRef) -> Result<Vec<(String, String)>, ()> {
        let mut datas = Vec::new();
        let mut ok = true;
        self.each(ed.inst, &self.elem(ed).children, &mut |item| {
            ok = match item {
                Item::Elem(r) => {
                    datas.push(r);
                    &*self.elem(r).name == "Data"
                }
                Item::Text(t) => t.is_empty(),
                Item::Value(v) => is_empty(v.ty, v.bytes(self.data)),
            };
            ok
        });
        if !ok {
            return Err(());
        }
        let mut data: Vec<(String, String)> = Vec::with_capacity(datas.len());
        for r in datas {
            let name = self.elem(r).data_name.as_deref().ok_or(())?;
            if matches!(name, "Data" | "#attributes") || data.iter().any(|(n, _)| n == name) {
                return Err(());
            }
            let mut value = self
                .text(r.inst, &self.elem(r).children, true)?
                .unwrap_or_default();
            // Only a 36- or 38-character value can be a GUID.
            if matches!(value.len(), 36 | 38) {
                value = windows_guid(&value).unwrap_or(value);
            }
            data.push((name.to_string(), value));
        }
        Ok(data)
    }
}
