//! Running a statement on either backend: the values bound to it, where it runs (a pool, or a
//! write transaction) and the reads the aggregates share. Each statement is written once; these
//! helpers run it on the backend at hand, and the compiler checks it against both.

use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{
    Arguments, Database, Encode, FromRow, Postgres, QueryBuilder, Sqlite, Transaction, Type,
};
use uuid::Uuid;

use crate::rows::Read;
use crate::{PoolState, Result};

/// A backend's pool.
#[derive(Clone, Copy)]
pub(crate) enum Pool<'a> {
    Sqlite(&'a sqlx::Pool<Sqlite>),
    Postgres(&'a sqlx::Pool<Postgres>),
}

impl Pool<'_> {
    pub(crate) fn state(self) -> PoolState {
        match self {
            Pool::Sqlite(pool) => PoolState {
                size: pool.size(),
                idle: pool.num_idle(),
            },
            Pool::Postgres(pool) => PoolState {
                size: pool.size(),
                idle: pool.num_idle(),
            },
        }
    }

    /// Closes the pool, waiting for connections in use.
    pub(crate) async fn close(self) {
        match self {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    pub(crate) async fn migrate(self, migrator: &Migrator) -> Result<()> {
        match self {
            Pool::Sqlite(pool) => migrator.run(pool).await?,
            Pool::Postgres(pool) => migrator.run(pool).await?,
        }
        Ok(())
    }
}

/// A write transaction, begun by the backend's `begin_write`.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// Where a statement runs: on a backend, its pool or the connection of one of its transactions.
pub(crate) enum Exec<'a> {
    Sqlite(On<'a, Sqlite>),
    Postgres(On<'a, Postgres>),
}

/// A backend's pool, or one of its connections.
pub(crate) enum On<'a, DB: Database> {
    Pool(&'a sqlx::Pool<DB>),
    Conn(&'a mut DB::Connection),
}

impl<'a> From<Pool<'a>> for Exec<'a> {
    fn from(pool: Pool<'a>) -> Self {
        match pool {
            Pool::Sqlite(pool) => Exec::Sqlite(On::Pool(pool)),
            Pool::Postgres(pool) => Exec::Postgres(On::Pool(pool)),
        }
    }
}

impl<'a> From<&'a mut Tx> for Exec<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        match tx {
            Tx::Sqlite(tx) => Exec::Sqlite(On::Conn(&mut **tx)),
            Tx::Postgres(tx) => Exec::Postgres(On::Conn(&mut **tx)),
        }
    }
}

/// A value both backends bind.
pub(crate) trait Value<'q>:
    'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

impl<'q, T> Value<'q> for T where
    T: 'q + Send + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

/// A row both backends read.
pub(crate) trait RowType:
    Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}

impl<R> RowType for R where
    R: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{
}

/// A backend's statement arguments.
pub(crate) trait Args: Default {
    fn push<'q>(&mut self, value: impl Value<'q>) -> Result<(), BoxDynError>;
}

impl Args for SqliteArguments {
    fn push<'q>(&mut self, value: impl Value<'q>) -> Result<(), BoxDynError> {
        self.add(value)
    }
}

impl Args for PgArguments {
    fn push<'q>(&mut self, value: impl Value<'q>) -> Result<(), BoxDynError> {
        self.add(value)
    }
}

/// A statement's parameters, bound to `$1`, `$2`, ... in order: a tuple of values.
pub(crate) trait Params<'q>: Send {
    fn arguments<A: Args>(self) -> Result<A, BoxDynError>;
}

macro_rules! impl_params {
    ($($value:ident $index:tt),+) => {
        impl<'q, $($value: Value<'q>),+> Params<'q> for ($($value,)+) {
            fn arguments<A: Args>(self) -> Result<A, BoxDynError> {
                let mut arguments = A::default();
                $(arguments.push(self.$index)?;)+
                Ok(arguments)
            }
        }
    };
}

impl Params<'_> for () {
    fn arguments<A: Args>(self) -> Result<A, BoxDynError> {
        Ok(A::default())
    }
}

impl_params!(V0 0);
impl_params!(V0 0, V1 1);
impl_params!(V0 0, V1 1, V2 2);
impl_params!(V0 0, V1 1, V2 2, V3 3);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5, V6 6);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5, V6 6, V7 7);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5, V6 6, V7 7, V8 8);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5, V6 6, V7 7, V8 8, V9 9);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5, V6 6, V7 7, V8 8, V9 9, V10 10);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5, V6 6, V7 7, V8 8, V9 9, V10 10, V11 11);
impl_params!(V0 0, V1 1, V2 2, V3 3, V4 4, V5 5, V6 6, V7 7, V8 8, V9 9, V10 10, V11 11, V12 12);

/// The parameters as a backend's arguments.
fn arguments<'q, A: Args>(params: impl Params<'q>) -> Result<A> {
    Ok(params.arguments().map_err(sqlx::Error::Encode)?)
}

/// Runs `$query` where `$exec` says, as the sqlx query `$build` makes of it for that backend:
/// `$method` (`execute`, `fetch_optional`, ...), then `$then` of its result when given.
macro_rules! on_backend {
    ($build:path, $query:expr, $exec:expr, $method:ident $(, $then:ident)?) => {{
        let Query { sql, params } = $query;
        match $exec.into() {
            Exec::Sqlite(on) => {
                let args = arguments::<SqliteArguments>(params)?;
                match on {
                    On::Pool(e) => $build(sql, args).$method(e).await? $(.$then())?,
                    On::Conn(e) => $build(sql, args).$method(e).await? $(.$then())?,
                }
            }
            Exec::Postgres(on) => {
                let args = arguments::<PgArguments>(params)?;
                match on {
                    On::Pool(e) => $build(sql, args).$method(e).await? $(.$then())?,
                    On::Conn(e) => $build(sql, args).$method(e).await? $(.$then())?,
                }
            }
        }
    }};
}

/// A statement with its parameters, to run where the caller says.
pub(crate) struct Query<P> {
    sql: &'static str,
    params: P,
}

/// The statement `sql` with `params` bound to its `$1`, `$2`, ...
pub(crate) fn query<'q, P: Params<'q>>(sql: &'static str, params: P) -> Query<P> {
    Query { sql, params }
}

impl<'q, P: Params<'q>> Query<P> {
    /// Runs the statement and says whether it changed a row.
    pub(crate) async fn changed(self, exec: impl Into<Exec<'_>>) -> Result<bool> {
        let changed = on_backend!(sqlx::query_with, self, exec, execute, rows_affected);
        Ok(changed > 0)
    }

    /// Runs the statement, whatever it changes.
    pub(crate) async fn execute(self, exec: impl Into<Exec<'_>>) -> Result<()> {
        self.changed(exec).await?;
        Ok(())
    }

    /// The row the statement finds, if any.
    pub(crate) async fn fetch_optional_row<R: RowType>(
        self,
        exec: impl Into<Exec<'_>>,
    ) -> Result<Option<R>> {
        Ok(on_backend!(sqlx::query_as_with, self, exec, fetch_optional))
    }

    /// The rows the statement finds.
    pub(crate) async fn fetch_all_rows<R: RowType>(
        self,
        exec: impl Into<Exec<'_>>,
    ) -> Result<Vec<R>> {
        Ok(on_backend!(sqlx::query_as_with, self, exec, fetch_all))
    }

    /// The row the statement finds, read as a `T`; an error when there is none.
    pub(crate) async fn fetch_one<T: Read<Row: RowType>>(
        self,
        exec: impl Into<Exec<'_>>,
    ) -> Result<T> {
        let row = self.fetch_optional_row(exec).await?;
        T::read(row.ok_or(sqlx::Error::RowNotFound)?)
    }

    /// The row the statement finds, if any, read as a `T`.
    pub(crate) async fn fetch_optional<T: Read<Row: RowType>>(
        self,
        exec: impl Into<Exec<'_>>,
    ) -> Result<Option<T>> {
        self.fetch_optional_row(exec)
            .await?
            .map(T::read)
            .transpose()
    }

    /// The rows the statement finds, read as `T`s.
    pub(crate) async fn fetch_all<T: Read<Row: RowType>>(
        self,
        exec: impl Into<Exec<'_>>,
    ) -> Result<Vec<T>> {
        let rows = self.fetch_all_rows(exec).await?;
        rows.into_iter().map(T::read).collect()
    }
}

/// The rows `select`, which ends in `IN (`, finds for each of `ids`, `rest` closing the list, read
/// as `T`s: one statement per 500 ids, under every backend's parameter limit.
pub(crate) async fn fetch_for_ids<T: Read<Row: RowType>>(
    pool: Pool<'_>,
    select: &str,
    ids: &[Uuid],
    rest: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let rows: Vec<T::Row> = match pool {
            Pool::Sqlite(pool) => {
                let mut query = in_list(select, chunk, rest);
                query.build_query_as().fetch_all(pool).await?
            }
            Pool::Postgres(pool) => {
                let mut query = in_list(select, chunk, rest);
                query.build_query_as().fetch_all(pool).await?
            }
        };
        for row in rows {
            out.push(T::read(row)?);
        }
    }
    Ok(out)
}

/// `select`, the ids bound one by one and separated by commas, then `rest`.
fn in_list<DB: Database>(select: &str, ids: &[Uuid], rest: &str) -> QueryBuilder<DB>
where
    Uuid: for<'q> Encode<'q, DB> + Type<DB>,
{
    let mut query = QueryBuilder::new(select);
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    query.push(rest);
    query
}
