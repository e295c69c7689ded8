//! What a person writes on a run after the fact: its tags (`pixelcnn tag RUN +best -draft`) and
//! its note (`pixelcnn note RUN "text"`). Neither changes what the run computed, so neither is
//! part of its identity, and a running run may be labelled while it trains.

use crate::Store;
use crate::error::Result;

/// The longest tag, in characters: a label, not a note.
pub const MAX_TAG_CHARS: usize = 64;

/// Checks a tag as typed: not empty, no whitespace or commas (tags are listed comma-separated),
/// no leading `+`/`-` (those say add and remove), at most [`MAX_TAG_CHARS`] characters.
pub fn check_tag(tag: &str) -> std::result::Result<(), String> {
    if tag.is_empty() {
        return Err("a tag cannot be empty".into());
    }
    if tag.chars().any(|c| c.is_whitespace() || c == ',' || c.is_control()) {
        return Err(format!("tag {tag:?} holds whitespace or a comma"));
    }
    if tag.starts_with(['+', '-']) {
        return Err(format!("tag {tag:?} starts with + or -, which add and remove tags"));
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Err(format!("tag {tag:?} is longer than {MAX_TAG_CHARS} characters"));
    }
    Ok(())
}

impl Store {
    /// Adds `add` (those not there yet, after the existing ones) and removes `remove` from the
    /// tags of run `run_id` (a full id), in one transaction, so that two concurrent edits both
    /// land. Returns the tags the run holds now.
    pub async fn edit_tags(&self, run_id: &str, add: &[String], remove: &[String]) -> Result<Vec<String>> {
        for tag in add.iter().chain(remove) {
            check_tag(tag).map_err(|message| self.invalid(message))?;
        }
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // A write first: it locks the row (PostgreSQL) or the database (SQLite) before the read.
        let touched = sqlx::query("UPDATE runs SET tags = tags WHERE id = $1")
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        if touched.rows_affected() == 0 {
            return Err(self.run_not_found(run_id));
        }
        let text: String = sqlx::query_scalar("SELECT tags FROM runs WHERE id = $1")
            .bind(run_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        let mut tags = self.parse_tags(run_id, &text)?;
        tags.retain(|t| !remove.contains(t));
        for tag in add {
            if !tags.contains(tag) && !remove.contains(tag) {
                tags.push(tag.clone());
            }
        }
        sqlx::query("UPDATE runs SET tags = $1 WHERE id = $2")
            .bind(serde_json::Value::from(tags.clone()).to_string())
            .bind(run_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err_writing(&format!("tags of run {run_id}"), e))?;
        tx.commit().await.map_err(|e| self.err(e))?;
        Ok(tags)
    }

    /// Sets the note of run `run_id` (a full id); `None` or an empty text clears it.
    pub async fn set_note(&self, run_id: &str, note: Option<&str>) -> Result<()> {
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        let done = sqlx::query("UPDATE runs SET note = $1 WHERE id = $2")
            .bind(note)
            .bind(run_id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err_writing(&format!("note of run {run_id}"), e))?;
        if done.rows_affected() == 0 {
            return Err(self.run_not_found(run_id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_single_words_without_sign() {
        for good in ["best", "v2", "lr-sweep", "q=256", "ünï"] {
            assert_eq!(check_tag(good), Ok(()), "{good}");
        }
        for bad in ["", "two words", "a,b", "+best", "-draft", "tab\there", &"x".repeat(65)] {
            assert!(check_tag(bad).is_err(), "{bad:?}");
        }
    }
}
