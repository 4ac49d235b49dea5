//! Multi-row inserts through statements of a few fixed sizes, each prepared once.
//!
//! diesel caches a prepared statement only when its shape is known when the crate is built:
//! a multi-row insert of a slice is prepared afresh on every call (parsed again on SQLite,
//! parsed and planned again on PostgreSQL), while one of an array `&[T; N]` is prepared once
//! per connection and reused. The writer's batch flush inserts a different number of rows
//! every time, so [`insert_rows!`] writes them in chunks of 64, 16, 4 and 1 rows: at most
//! four statements per table, all of them cached.

/// Inserts every row of the slice `$rows` into `$table` on `$conn` (a `&mut DbConn`), in
/// cached statements of 64, 16, 4 and 1 rows; returns early with the error (`?`) if one
/// fails. All of them run inside the caller's transaction.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {{
        let mut rest = &$rows[..];
        while !rest.is_empty() {
            rest = if let Some((chunk, tail)) = rest.split_first_chunk::<64>() {
                $crate::service::store::insert::insert_chunk!($conn, $table, chunk);
                tail
            } else if let Some((chunk, tail)) = rest.split_first_chunk::<16>() {
                $crate::service::store::insert::insert_chunk!($conn, $table, chunk);
                tail
            } else if let Some((chunk, tail)) = rest.split_first_chunk::<4>() {
                $crate::service::store::insert::insert_chunk!($conn, $table, chunk);
                tail
            } else if let Some((chunk, tail)) = rest.split_first_chunk::<1>() {
                $crate::service::store::insert::insert_chunk!($conn, $table, chunk);
                tail
            } else {
                &[]
            };
        }
    }};
}

/// One fixed-size chunk of [`insert_rows!`], run on the backend's own connection (the
/// connection enum has no batch form of its own).
macro_rules! insert_chunk {
    ($conn:expr, $table:expr, $chunk:expr) => {
        $crate::service::store::fixed::on_backend!($conn, |c| {
            diesel::RunQueryDsl::execute(diesel::insert_into($table).values($chunk), c)?;
        })
    };
}

pub(crate) use {insert_chunk, insert_rows};

#[cfg(test)]
mod tests {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    use crate::error::AppError;
    use crate::service::store::audit::SubjectLink;
    use crate::service::store::schema::audit_entry_subjects as asub;
    use crate::service::store::{migrations, DbConn};

    fn write(conn: &mut DbConn, rows: &[SubjectLink]) -> Result<(), AppError> {
        insert_rows!(conn, asub::table, rows);
        Ok(())
    }

    #[test]
    fn every_row_is_written_once_whatever_the_count() {
        let mut c = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        migrations::run(&mut c).unwrap();
        let mut next = 0i64;
        let mut written = Vec::new();
        // Counts on, just below and just above every chunk size, and several chunks' worth.
        for n in [0usize, 1, 3, 4, 5, 15, 16, 17, 63, 64, 65, 85, 150] {
            let rows: Vec<SubjectLink> = (0..n)
                .map(|_| {
                    next += 1;
                    SubjectLink {
                        subject_ref: format!("incident:x:victim:V{next}"),
                        seq: next,
                    }
                })
                .collect();
            write(&mut c, &rows).unwrap();
            written.extend(rows);
        }
        let mut stored: Vec<SubjectLink> = asub::table.load(&mut c).unwrap();
        stored.sort();
        written.sort();
        assert_eq!(stored, written);
    }

    #[test]
    fn a_failing_chunk_is_an_error_for_the_caller() {
        let mut c = DbConn::Sqlite(SqliteConnection::establish(":memory:").unwrap());
        migrations::run(&mut c).unwrap();
        let row = SubjectLink {
            subject_ref: "incident:x:victim:V1".into(),
            seq: 1,
        };
        assert!(write(&mut c, std::slice::from_ref(&row)).is_ok());
        // The same (seq, subject) again breaks the primary key.
        assert!(write(&mut c, &[row.clone(), row]).is_err());
    }
}
