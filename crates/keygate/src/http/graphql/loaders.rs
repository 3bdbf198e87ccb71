//! Data loaders: nested lists load in one query per level, not one per row. Their keys are
//! capabilities the service hands out after checking the caller's rights, so a loader can only
//! load what the caller was allowed to see.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use keygate_domain::{Token, User};

use crate::service::{Keygate, MemberKey, TokensKey};

/// Users by id (a team's members).
pub struct UserById(pub Keygate);

impl Loader<MemberKey> for UserById {
    type Value = User;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[MemberKey]) -> Result<HashMap<MemberKey, User>, Self::Error> {
        let users = self
            .0
            .users_by_id(keys)
            .await
            .map_err(|e| Arc::new(super::gql(e)))?;
        Ok(users.into_iter().collect())
    }
}

/// Tokens by owner (each API user's tokens).
pub struct TokensOfUser(pub Keygate);

impl Loader<TokensKey> for TokensOfUser {
    type Value = Vec<Token>;
    type Error = Arc<async_graphql::Error>;

    async fn load(
        &self,
        keys: &[TokensKey],
    ) -> Result<HashMap<TokensKey, Vec<Token>>, Self::Error> {
        let tokens = self
            .0
            .tokens_of_users(keys)
            .await
            .map_err(|e| Arc::new(super::gql(e)))?;
        Ok(tokens.into_iter().collect())
    }
}
