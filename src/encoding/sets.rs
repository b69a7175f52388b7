//! DynamoDB sets (SS, NS, BS): the members collected by a set's encoder are checked (no empty
//! set, no duplicate member) and written in a canonical order. Shared by the list, text and
//! item-line encoders.

use super::{AttrType, ItemWriter, RuleFailure, WriteOutcome};
use crate::model::number;
use crate::model::rules;

/// The type of a set's members.
pub(crate) fn member_ty(set: AttrType) -> AttrType {
    match set {
        AttrType::SS => AttrType::S,
        AttrType::NS => AttrType::N,
        _ => AttrType::B,
    }
}

/// Write the set collected in `w.members`/`w.spans`: empty sets are left out (and counted),
/// duplicates fail. NS members are canonical, so equal numbers have equal text.
pub(crate) fn finish_set(w: &mut ItemWriter, kind: AttrType) -> Result<WriteOutcome, RuleFailure> {
    if w.spans.is_empty() {
        if w.strict {
            return Err(RuleFailure::new(
                &rules::SET_EMPTY,
                format!(
                    "{} is empty; sets must hold at least one member",
                    kind.as_str()
                ),
            ));
        }
        w.empty_sets += 1;
        return Ok(WriteOutcome::Omit);
    }
    let members = std::mem::take(&mut w.members);
    let spans = std::mem::take(&mut w.spans);
    let mut order: Vec<usize> = (0..spans.len()).collect();
    let get = |k: usize| &members[spans[k].0..spans[k].1];
    order.sort_unstable_by(|&a, &b| get(a).cmp(get(b)));
    let dup = order.windows(2).find(|p| get(p[0]) == get(p[1]));
    let result = if let Some(p) = dup {
        Err(RuleFailure::new(
            &rules::SET_DUPLICATES,
            format!(
                "{} member {:?} appears more than once (Input collection contains duplicates)",
                kind.as_str(),
                String::from_utf8_lossy(get(p[0]))
            ),
        ))
    } else {
        let want = member_ty(kind);
        w.set_open(kind);
        let mut size = 0;
        for (k, &(a, b)) in spans.iter().enumerate() {
            if k > 0 {
                w.out.push(b',');
            }
            let raw = &members[a..b];
            w.set_member(want, raw);
            size += match want {
                AttrType::N => number::canonical_size(raw),
                _ => raw.len(),
            };
        }
        w.set_close();
        Ok(WriteOutcome::Written { ty: kind, size })
    };
    w.members = members;
    w.spans = spans;
    result
}
