//! How the layers above the file change its sweep: a profile's sweep overlays the file's axes, and
//! a key that a profile, the environment or `--set` fixes to one value leaves every axis. Each
//! change is noted, so that a plan says why an axis written in the file is gone.

use super::axis::{AxisKind, Entry, Member, check_duplicates};
use crate::error::Result;

/// Applies a profile's sweep to the file's: an axis of the same key replaces the file's axis (a
/// member of a zip group keeps its place in the group), `seeds` replaces `seeds`, a zip group
/// replaces the group of the same name and takes its keys from wherever else they were swept;
/// other axes are added after the file's.
pub(crate) fn apply_profile(
    file: &str,
    base: &mut Vec<Entry>,
    profile: Vec<Entry>,
    notes: &mut Vec<String>,
) -> Result<()> {
    for entry in profile {
        match &entry.kind {
            AxisKind::Zip(group) => {
                let who = format!("[{}]", entry.section);
                for member in &entry.members {
                    remove_key(base, &member.key, &who, notes, |e| e.kind == entry.kind);
                }
                match base.iter_mut().find(|e| e.kind == entry.kind) {
                    Some(slot) => {
                        notes.push(format!("{who} replaces the zip group {group} of [{}]", slot.section));
                        *slot = entry;
                    }
                    None => base.push(entry),
                }
            }
            AxisKind::Grid | AxisKind::Seeds => {
                let new = &entry.members[0];
                let found = base.iter_mut().find_map(|e| {
                    let at = e.members.iter().position(|m| m.key == new.key)?;
                    Some((e, at))
                });
                match found {
                    Some((slot, at)) => {
                        let who = format!("[{}] {}", new.section, entry.member_name(new));
                        notes.push(format!(
                            "{who} = {} replaces the sweep axis {}",
                            new.shown(),
                            slot.describe(&slot.members[at])
                        ));
                        if matches!(slot.kind, AxisKind::Zip(_)) {
                            slot.members[at] = new.clone();
                        } else {
                            *slot = entry;
                        }
                    }
                    None => base.push(entry),
                }
            }
        }
    }
    check_duplicates(file, base)
}

/// Removes `key` (and the keys under it, for a section) from every axis, recording `who` replaced
/// it: a profile, the environment or `--set` fixes the key to one value.
pub(crate) fn fix_key(entries: &mut Vec<Entry>, key: &str, who: &str, notes: &mut Vec<String>) {
    remove_key(entries, key, who, notes, |_| false);
}

fn remove_key(
    entries: &mut Vec<Entry>,
    key: &str,
    who: &str,
    notes: &mut Vec<String>,
    keep: impl Fn(&Entry) -> bool,
) {
    let under = format!("{key}.");
    for entry in entries.iter_mut().filter(|e| !keep(e)) {
        let (gone, kept): (Vec<Member>, Vec<Member>) =
            entry.members.drain(..).partition(|m| m.key == key || m.key.starts_with(&under));
        for member in &gone {
            notes.push(format!("{who} replaces the sweep axis {}", entry.describe(member)));
        }
        entry.members = kept;
    }
    entries.retain(|e| !e.members.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grammar::read_sweep;

    #[test]
    fn fixing_a_zip_member_keeps_the_rest_of_the_group() {
        let mut entries =
            read_sweep("[sweep.zip.s]\n\"train.lr\" = [1e-3, 1e-2]\n\"train.lr_decay\" = [1.0, 0.99]\n")
                .unwrap();
        let mut notes = Vec::new();
        fix_key(&mut entries, "train.lr", "--set train.lr=0.1", &mut notes);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].members.len(), 1);
        assert_eq!(entries[0].members[0].key, "train.lr_decay");
        assert_eq!(
            notes,
            ["--set train.lr=0.1 replaces the sweep axis train.lr = [0.001, 0.01] (zip group s)"]
        );
        fix_key(&mut entries, "train", "--set train={}", &mut notes);
        assert!(entries.is_empty());
    }
}
