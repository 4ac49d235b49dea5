//! Statements whose SQL never changes, prepared once per connection.
//!
//! diesel prepares every `UPDATE` and every `sql_query` afresh (a changeset could leave out
//! a `None` field, and raw SQL could be anything), and the connection enum rebuilds each
//! statement's SQL on every pass over it. On the writer's hot path (the audit head, delivery
//! leases and outcomes) that was a sixth of the writer's time. A [`Fixed`] statement is
//! written as its SQL text in pieces with a bind between each two, so diesel knows the text
//! is the same at every call and keeps it prepared (keyed by that text); [`on_backend!`]
//! runs it on the backend's own connection, without the enum's rewriting. Each backend
//! writes its own placeholders (`?` on SQLite, `$n` on PostgreSQL) where the binds go.
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::Error as DieselError;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// A statement of fixed SQL: `pieces` with one bind of `binds` between each two (so one
/// piece more than binds).
#[derive(Debug, Clone, Copy)]
pub struct Fixed<B> {
    pieces: &'static [&'static str],
    binds: B,
}

impl<B> Fixed<B> {
    pub fn new(pieces: &'static [&'static str], binds: B) -> Self {
        Fixed { pieces, binds }
    }
}

/// One bound value of SQL type `ST`.
#[derive(Debug, Clone, Copy)]
pub struct Bind<ST, T> {
    value: T,
    st: PhantomData<ST>,
}

/// Binds `value` as SQL type `ST`.
pub fn bind<ST, T>(value: T) -> Bind<ST, T> {
    Bind {
        value,
        st: PhantomData,
    }
}

/// The binds of a [`Fixed`] statement, pushed between its pieces.
pub trait Binds<DB: Backend> {
    /// How many values.
    const COUNT: usize;
    /// Pushes each value after its piece: `pieces[i]`, then value `i`.
    fn push<'b>(
        &'b self,
        pieces: &'static [&'static str],
        pass: &mut AstPass<'_, 'b, DB>,
    ) -> QueryResult<()>;
}

impl<DB, ST, T> Binds<DB> for Bind<ST, T>
where
    DB: Backend + HasSqlType<ST>,
    T: ToSql<ST, DB>,
{
    const COUNT: usize = 1;

    fn push<'b>(
        &'b self,
        pieces: &'static [&'static str],
        pass: &mut AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        if let Some(piece) = pieces.first() {
            pass.push_sql(piece);
        }
        pass.push_bind_param::<ST, T>(&self.value)
    }
}

macro_rules! tuple_binds {
    ($($name:ident $i:tt),+) => {
        impl<DB: Backend, $($name: Binds<DB>),+> Binds<DB> for ($($name,)+) {
            const COUNT: usize = 0 $(+ $name::COUNT)+;

            // What is left after the last value is not read.
            #[allow(unused_assignments)]
            fn push<'b>(
                &'b self,
                pieces: &'static [&'static str],
                pass: &mut AstPass<'_, 'b, DB>,
            ) -> QueryResult<()> {
                let mut rest = pieces;
                $(
                    self.$i.push(rest, pass)?;
                    rest = rest.get($name::COUNT..).unwrap_or_default();
                )+
                Ok(())
            }
        }
    };
}

tuple_binds!(A 0);
tuple_binds!(A 0, B 1);
tuple_binds!(A 0, B 1, C 2);
tuple_binds!(A 0, B 1, C 2, D 3);
tuple_binds!(A 0, B 1, C 2, D 3, E 4);
tuple_binds!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_binds!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_binds!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_binds!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_binds!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_binds!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);

impl<DB, B> QueryFragment<DB> for Fixed<B>
where
    DB: Backend,
    B: Binds<DB>,
{
    fn walk_ast<'b>(&'b self, mut pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.pieces.len() != B::COUNT + 1 {
            return Err(DieselError::QueryBuilderError(
                format!(
                    "a fixed statement of {} pieces takes {} binds, not {}",
                    self.pieces.len(),
                    self.pieces.len().saturating_sub(1),
                    B::COUNT
                )
                .into(),
            ));
        }
        self.binds.push(self.pieces, &mut pass)?;
        if let Some(last) = self.pieces.last() {
            pass.push_sql(last);
        }
        Ok(())
    }
}

impl<B> QueryId for Fixed<B> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B> Query for Fixed<B> {
    type SqlType = Untyped;
}

impl<B, C> RunQueryDsl<C> for Fixed<B> {}

/// Runs `$body` with `$c` bound to the backend's own connection inside `$conn` (a
/// `&mut DbConn`): the body is written once and compiled for each backend.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut *$conn {
            $crate::service::store::DbConn::Pg($c) => $body,
            $crate::service::store::DbConn::Sqlite($c) => $body,
        }
    };
}

pub(crate) use on_backend;

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Connection, InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;
    use diesel::sql_types::{Integer, Text};
    use diesel::sqlite::SqliteConnection;

    use super::{bind, Fixed};

    diesel::table! {
        counters (id) {
            id -> Integer,
            n -> Integer,
            label -> Text,
        }
    }

    /// A connection with two counters, and the SQL of every statement it put in its cache.
    fn connection() -> (SqliteConnection, Arc<Mutex<Vec<String>>>) {
        let mut c = SqliteConnection::establish(":memory:").unwrap();
        c.batch_execute(
            "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, \
             label TEXT NOT NULL); INSERT INTO counters VALUES (1, 0, ''), (2, 0, '');",
        )
        .unwrap();
        let cached = Arc::new(Mutex::new(Vec::new()));
        let seen = cached.clone();
        c.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = event {
                seen.lock().unwrap().push(sql.to_owned());
            }
        });
        (c, cached)
    }

    fn set(c: &mut SqliteConnection, id: i32, n: i32, label: &str) -> QueryResult<usize> {
        Fixed::new(
            &["UPDATE counters SET n = ", ", label = ", " WHERE id = ", ""],
            (
                bind::<Integer, _>(n),
                bind::<Text, _>(label),
                bind::<Integer, _>(id),
            ),
        )
        .execute(c)
    }

    #[test]
    fn a_fixed_statement_is_prepared_once_and_applies_each_calls_binds() {
        let (mut c, cached) = connection();
        for (id, n, label) in [(1, 5, "a"), (2, 7, "b"), (1, 9, "c")] {
            assert_eq!(set(&mut c, id, n, label).unwrap(), 1);
        }
        assert_eq!(set(&mut c, 3, 1, "none").unwrap(), 0, "no such counter");
        let rows: Vec<(i32, i32, String)> =
            counters::table.order(counters::id).load(&mut c).unwrap();
        assert_eq!(rows, vec![(1, 9, "c".into()), (2, 7, "b".into())]);
        let cached = cached.lock().unwrap();
        let updates: Vec<&String> = cached.iter().filter(|s| s.starts_with("UPDATE")).collect();
        assert_eq!(
            updates,
            vec!["UPDATE counters SET n = ?, label = ? WHERE id = ?"],
            "{cached:?}"
        );
    }

    #[test]
    fn a_plain_update_is_prepared_at_every_call() {
        // What `Fixed` is for: diesel keeps no UPDATE of its own.
        let (mut c, cached) = connection();
        for n in [1, 2] {
            diesel::update(counters::table.find(1))
                .set(counters::n.eq(n))
                .execute(&mut c)
                .unwrap();
        }
        assert!(cached
            .lock()
            .unwrap()
            .iter()
            .all(|s| !s.starts_with("UPDATE")));
    }

    #[test]
    fn pieces_that_do_not_fit_the_binds_are_an_error_not_a_statement() {
        let (mut c, _) = connection();
        let r = Fixed::new(
            &["UPDATE counters SET n = ", " WHERE id = 1"],
            (bind::<Integer, _>(1), bind::<Integer, _>(2)),
        )
        .execute(&mut c);
        assert!(r.is_err());
        let n: i32 = counters::table
            .find(1)
            .select(counters::n)
            .first(&mut c)
            .unwrap();
        assert_eq!(n, 0);
    }
}
