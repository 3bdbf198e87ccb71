//! Data loaders: nested lists load in one query per level, not one per row.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use keygate_domain::{Token, User};
use uuid::Uuid;

use crate::service::Keygate;

/// Users by id (a team's members).
pub struct UserById(pub Keygate);

impl Loader<Uuid> for UserById {
    type Value = User;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, User>, Self::Error> {
        let users = self
            .0
            .users_by_id(keys)
            .await
            .map_err(|e| Arc::new(super::gql(e)))?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}

/// Tokens by owner (each API user's tokens).
pub struct TokensOfUser(pub Keygate);

impl Loader<Uuid> for TokensOfUser {
    type Value = Vec<Token>;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<Token>>, Self::Error> {
        let tokens = self
            .0
            .tokens_of_users(keys)
            .await
            .map_err(|e| Arc::new(super::gql(e)))?;
        let mut out: HashMap<Uuid, Vec<Token>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for t in tokens {
            out.entry(t.user_id).or_default().push(t);
        }
        Ok(out)
    }
}
