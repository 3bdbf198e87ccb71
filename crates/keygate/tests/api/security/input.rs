//! Input of any size or nesting gets a 4xx and the server lives on; headers every answer carries.
