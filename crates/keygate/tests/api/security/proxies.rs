//! Forward-auth through real proxies with a client that forges headers.
