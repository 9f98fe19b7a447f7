//! What the benches share: bulk seeding straight into the store's tables,
//! far faster than creates through the wire.
use rusqlite::{params, Connection};

/// Owners the records are spread over: admin and the three seeded groups.
pub const OWNERS: [i64; 4] = [1, 2, 3, 4];

/// The crmid of account number `n` (accounts and contacts alternate; the
/// seed owns no crmentity rows, so the first record is crmid 1).
pub fn crmid(n: u64) -> u64 {
    2 * n + 1
}

pub fn modified(i: u64) -> String {
    let t = chrono::DateTime::from_timestamp(1_700_000_000 + i as i64, 0).unwrap();
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Adds records until the store holds `to`: account `n` (crmid 2n+1) and
/// its contact (crmid 2n+2), in one transaction.
pub fn grow(conn: &mut Connection, from: u64, to: u64) {
    let tx = conn.transaction().unwrap();
    {
        let mut entity = tx
            .prepare(
                "INSERT INTO crmentity (crmid, setype, smownerid, smcreatorid, modifiedby,
                 createdtime, modifiedtime, source, label) VALUES (?1, ?2, ?3, 1, 1, ?4, ?4, 'WEBSERVICE', ?5)",
            )
            .unwrap();
        let mut account = tx
            .prepare("INSERT INTO m_Accounts (_id, accountname, email1, industry) VALUES (?1, ?2, ?3, 'Banking')")
            .unwrap();
        let mut contact = tx
            .prepare(
                "INSERT INTO m_Contacts (_id, lastname, email, account_id) VALUES (?1, ?2, ?3, ?4)",
            )
            .unwrap();
        for n in from / 2..to / 2 {
            let (a, c) = (crmid(n), crmid(n) + 1);
            let owner = OWNERS[(n % 4) as usize];
            let name = format!("Account {n}");
            entity
                .execute(params![a, "Accounts", owner, modified(a), name])
                .unwrap();
            account
                .execute(params![a, name, format!("a{n}@example.com")])
                .unwrap();
            let last = format!("Contact {n}");
            entity
                .execute(params![c, "Contacts", owner, modified(c), last])
                .unwrap();
            contact
                .execute(params![c, last, format!("c{n}@example.com"), a.to_string()])
                .unwrap();
        }
    }
    tx.commit().unwrap();
}
