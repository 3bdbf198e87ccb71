-- What user search matches: the email and display name, lower-cased by Keygate (Unicode-aware,
-- which SQLite's LOWER is not) whenever they are written. Rows written before this column are
-- filled in when Keygate starts.
ALTER TABLE users ADD COLUMN search_text TEXT;
