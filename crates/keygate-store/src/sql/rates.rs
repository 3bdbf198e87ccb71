//! Rate limits' use, summed over every node: each node adds what it admitted in a window and
//! reads back the window's total.

use super::query::{Tx, query};
use crate::{RateUse, Result};

pub(crate) async fn add_uses(
    tx: &mut Tx,
    uses: &[RateUse],
    expired_before: i64,
) -> Result<Vec<u64>> {
    let add = "INSERT INTO rate_counts (subject, name, window_start, window_end, used) \
               VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (subject, name, window_start) \
               DO UPDATE SET used = rate_counts.used + excluded.used RETURNING used";
    let mut totals = Vec::with_capacity(uses.len());
    for u in uses {
        let used = i64::try_from(u.used).unwrap_or(i64::MAX);
        let params = (u.subject, u.name.as_str(), u.window.0, u.window.1, used);
        let total: Option<(i64,)> = query(add, params).fetch_optional_row(&mut *tx).await?;
        totals.push(total.map_or(0, |(t,)| u64::try_from(t).unwrap_or_default()));
    }
    query(
        "DELETE FROM rate_counts WHERE window_end < $1",
        (expired_before,),
    )
    .execute(&mut *tx)
    .await?;
    Ok(totals)
}
