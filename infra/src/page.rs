//! A page of the log held for folding: every event's envelope and payload, borrowed from three buffers
//! the page keeps from one read to the next, instead of an owned [`RecordedEvent`] per event.
//!
//! Why: a catch-up folds ten million events through every read model, and the models read envelopes
//! only (the payload is decoded once into a fact beforehand). Building an owned event per event copied
//! every payload out of the read buffer and wrote a dozen fields into a slot, a fifth of W2's time. The
//! embedded store reads frames straight into [`LogPage`]'s byte buffer and notes where each payload
//! lies in it; other stores fill it from their owned events ([`LogPage::push`]).

use std::ops::Range;

use domain::{BookId, CommandId, EventId, Timestamp};
use uuid::Uuid;

use crate::envelope::{Envelope, RecordedEvent};

/// A span of one of the page's buffers. `u32`: a page is a few megabytes at most.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn of(range: Range<usize>) -> Span {
        Span { start: range.start as u32, len: (range.end - range.start) as u32 }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..(self.start + self.len) as usize
    }
}

/// One event of a page: the fixed fields inline, the variable ones as spans.
#[derive(Clone, Copy, Debug)]
struct Entry {
    position: u64,
    stream_version: u64,
    event_id: EventId,
    book: BookId,
    command_id: CommandId,
    correlation_id: Uuid,
    causation_id: Uuid,
    occurred_at: Timestamp,
    recorded_at: Timestamp,
    event_version: u16,
    /// Spans of `text`.
    stream_id: Span,
    event_type: Span,
    actor: Span,
    /// A span of `bytes`.
    payload: Span,
}

/// A page of the log: events in position order, each an [`Envelope`] and a payload.
#[derive(Debug, Default)]
pub struct LogPage {
    /// Payloads live here: the frames as the embedded store read them, or copies ([`LogPage::push`]).
    /// Only `bytes[..bytes_len]` belongs to the current page; the rest is kept so a reread overwrites
    /// it instead of zeroing it again.
    bytes: Vec<u8>,
    bytes_len: usize,
    /// Stream ids, type names and actors; a value equal to the previous event's is written once.
    text: String,
    entries: Vec<Entry>,
}

impl LogPage {
    pub fn new() -> Self {
        LogPage::default()
    }

    /// Empties the page, keeping its buffers.
    pub fn clear(&mut self) {
        self.bytes_len = 0;
        self.text.clear();
        self.entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of the page's last event.
    pub fn last_position(&self) -> Option<u64> {
        self.entries.last().map(|e| e.position)
    }

    /// Drops the events after `position` (a catch-up that must stop there: positions may have gaps,
    /// so a count of events does not say where a page ends).
    pub fn truncate_after(&mut self, position: u64) {
        let keep = self.entries.partition_point(|e| e.position <= position);
        self.entries.truncate(keep);
    }

    /// The `i`-th event's envelope and payload.
    pub fn get(&self, i: usize) -> Option<(Envelope<'_>, &[u8])> {
        let entry = self.entries.get(i)?;
        Some((self.envelope_of(entry), &self.bytes[entry.payload.range()]))
    }

    /// The events in position order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (Envelope<'_>, &[u8])> + '_ {
        self.entries.iter().map(|entry| (self.envelope_of(entry), &self.bytes[entry.payload.range()]))
    }

    /// The envelopes in position order.
    pub fn envelopes(&self) -> impl ExactSizeIterator<Item = Envelope<'_>> + '_ {
        self.entries.iter().map(|entry| self.envelope_of(entry))
    }

    /// Each event's type name, schema version and payload: what decoding reads.
    pub fn payloads(&self) -> impl ExactSizeIterator<Item = (&str, u16, &[u8])> + '_ {
        self.entries.iter().map(|entry| {
            (&self.text[entry.event_type.range()], entry.event_version, &self.bytes[entry.payload.range()])
        })
    }

    fn envelope_of(&self, entry: &Entry) -> Envelope<'_> {
        Envelope {
            position: entry.position,
            stream_id: &self.text[entry.stream_id.range()],
            stream_version: entry.stream_version,
            event_id: entry.event_id,
            event_type: &self.text[entry.event_type.range()],
            event_version: entry.event_version,
            book: entry.book,
            actor: &self.text[entry.actor.range()],
            command_id: entry.command_id,
            correlation_id: entry.correlation_id,
            causation_id: entry.causation_id,
            occurred_at: entry.occurred_at,
            recorded_at: entry.recorded_at,
        }
    }

    /// Adds an event after the others, copying its payload in. Positions must increase.
    pub fn push(&mut self, envelope: &Envelope<'_>, payload: &[u8]) {
        let start = self.bytes_len;
        let end = start + payload.len();
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        self.bytes[start..end].copy_from_slice(payload);
        self.bytes_len = end;
        self.push_entry(envelope, Span::of(start..end));
    }

    /// Adds `event` after the others.
    pub fn push_recorded(&mut self, event: &RecordedEvent) {
        self.push(&event.envelope(), &event.payload);
    }

    /// Replaces the page with `events`.
    pub fn fill_from(&mut self, events: &[RecordedEvent]) {
        self.clear();
        for event in events {
            self.push_recorded(event);
        }
    }

    /// The byte buffer for a reader that reads payloads in place: `len` bytes of it, overwritten by the
    /// caller (grown, never zeroed again, when already large enough). Clears the page.
    pub(crate) fn raw_buffer(&mut self, len: usize) -> &mut [u8] {
        self.clear();
        if self.bytes.len() < len {
            self.bytes.resize(len, 0);
        }
        self.bytes_len = len;
        &mut self.bytes[..len]
    }

    /// The bytes a reader put in with [`LogPage::raw_buffer`], and a writer of entries whose payloads
    /// are spans of them: split so a reader can parse the one while filling the other.
    pub(crate) fn split_raw(&mut self) -> (&[u8], PageWriter<'_>) {
        let LogPage { bytes, bytes_len, text, entries } = self;
        (&bytes[..*bytes_len], PageWriter { text, entries })
    }

    fn push_entry(&mut self, envelope: &Envelope<'_>, payload: Span) {
        PageWriter { text: &mut self.text, entries: &mut self.entries }.push(envelope, payload);
    }
}

/// Adds entries to a page whose bytes are borrowed elsewhere (see [`LogPage::split_raw`]).
pub(crate) struct PageWriter<'p> {
    text: &'p mut String,
    entries: &'p mut Vec<Entry>,
}

impl PageWriter<'_> {
    /// Adds an event whose payload is `bytes[payload]` of the page.
    pub(crate) fn push_at(&mut self, envelope: &Envelope<'_>, payload: Range<usize>) {
        self.push(envelope, Span::of(payload));
    }

    fn push(&mut self, envelope: &Envelope<'_>, payload: Span) {
        let previous = self.entries.last().copied();
        let mut text = |value: &str, previous: Option<Span>| -> Span {
            if let Some(span) = previous
                && &self.text[span.range()] == value
            {
                return span;
            }
            let start = self.text.len();
            self.text.push_str(value);
            Span::of(start..self.text.len())
        };
        let stream_id = text(envelope.stream_id, previous.map(|p| p.stream_id));
        let event_type = text(envelope.event_type, previous.map(|p| p.event_type));
        let actor = text(envelope.actor, previous.map(|p| p.actor));
        self.entries.push(Entry {
            position: envelope.position,
            stream_version: envelope.stream_version,
            event_id: envelope.event_id,
            book: envelope.book,
            command_id: envelope.command_id,
            correlation_id: envelope.correlation_id,
            causation_id: envelope.causation_id,
            occurred_at: envelope.occurred_at,
            recorded_at: envelope.recorded_at,
            event_version: envelope.event_version,
            stream_id,
            event_type,
            actor,
            payload,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope<'a>(position: u64, stream: &'a str, actor: &'a str) -> Envelope<'a> {
        Envelope {
            position,
            stream_id: stream,
            stream_version: position,
            event_id: EventId(Uuid::from_u128(position as u128)),
            event_type: "test.Happened",
            event_version: 1,
            book: BookId(Uuid::from_u128(7)),
            actor,
            command_id: CommandId(Uuid::from_u128(8)),
            correlation_id: Uuid::from_u128(9),
            causation_id: Uuid::from_u128(10),
            occurred_at: Timestamp(11),
            recorded_at: Timestamp(12),
        }
    }

    #[test]
    fn a_page_gives_back_every_envelope_and_payload_it_was_given() {
        let mut page = LogPage::new();
        let given = [
            (envelope(1, "order-1", "li"), vec![1u8, 2, 3]),
            (envelope(2, "order-1", "li"), vec![]),
            (envelope(3, "stock-李", "wang"), vec![9; 300]),
            (envelope(4, "order-1", "li"), vec![4]),
        ];
        for (envelope, payload) in &given {
            page.push(envelope, payload);
        }
        assert_eq!(page.len(), 4);
        assert_eq!(page.last_position(), Some(4));
        let back: Vec<(Envelope<'_>, Vec<u8>)> = page.iter().map(|(e, p)| (e, p.to_vec())).collect();
        assert_eq!(back, given.to_vec());
    }

    #[test]
    fn a_cleared_page_reused_for_fewer_events_holds_only_those() {
        let mut page = LogPage::new();
        for position in 1..=50 {
            page.push(&envelope(position, "a-long-stream-name", "someone"), &[position as u8; 100]);
        }
        page.clear();
        page.push(&envelope(51, "b", "x"), &[5]);
        assert_eq!(page.len(), 1);
        let (envelope, payload) = page.get(0).expect("one event");
        assert_eq!(
            (envelope.position, envelope.stream_id, envelope.actor, payload),
            (51, "b", "x", &[5u8][..])
        );
        assert!(page.get(1).is_none());
    }

    #[test]
    fn a_page_truncated_after_a_position_keeps_the_events_up_to_it() {
        let mut page = LogPage::new();
        for position in [3, 5, 9, 12] {
            page.push(&envelope(position, "s", "a"), &[]);
        }
        page.truncate_after(9);
        assert_eq!(page.envelopes().map(|e| e.position).collect::<Vec<_>>(), [3, 5, 9]);
        page.truncate_after(4);
        assert_eq!(page.last_position(), Some(3));
    }
}
