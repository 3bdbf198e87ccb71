//! Joining a workspace is the invitee's choice; sign-in redirects and CSRF.
