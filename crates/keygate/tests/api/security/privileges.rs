//! Nobody hands out what they lack: teams, role edits, token lifetimes, scopes.
