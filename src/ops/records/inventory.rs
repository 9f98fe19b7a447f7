//! Inventory records (Quotes, SalesOrder, PurchaseOrder, Invoice): their
//! `LineItems` and the totals the server computes from them, in exact
//! decimal arithmetic (no float ever touches an amount).
use std::collections::HashMap;
use std::str::FromStr;

use rusqlite::Connection;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::wire::row_to_wire;
use super::wire_record::WireRecord;
use crate::error::WsError;
use crate::registry::{ModuleDef, Registry, WsId};
use crate::store::{inventory, records, rows};

/// The fields a line-item module must have.
pub const LINE_FIELDS: [&str; 11] = [
    "parent_id",
    "productid",
    "sequence_no",
    "quantity",
    "listprice",
    "discount_percent",
    "discount_amount",
    "comment",
    "tax1",
    "tax2",
    "tax3",
];

/// Modules a line may sell.
const SOLD: [&str; 2] = ["Products", "Services"];

/// vtiger's text when the lines are missing or unusable.
pub fn missing() -> WsError {
    WsError::MandatoryFieldsMissing("Mandatory Fields Missing..".into())
}

/// One line: what it stores and the numbers its totals need.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Column values of the line-item row (without parent and number).
    pub values: Vec<(String, Option<String>)>,
    quantity: Decimal,
    listprice: Decimal,
    discount_percent: Decimal,
    discount_amount: Decimal,
    tax_percent: Decimal,
}

fn number(v: Option<&str>) -> Option<Decimal> {
    let t = v?.trim();
    if t.is_empty() {
        return None;
    }
    Decimal::from_str(t).ok()
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Line {
    /// A line from stored column values.
    fn from_stored(stored: &HashMap<String, Option<String>>) -> Line {
        let get = |k: &str| number(stored.get(k).and_then(|v| v.as_deref()));
        Line {
            values: Vec::new(),
            quantity: get("quantity").unwrap_or_default(),
            listprice: get("listprice").unwrap_or_default(),
            discount_percent: get("discount_percent").unwrap_or_default(),
            discount_amount: get("discount_amount").unwrap_or_default(),
            tax_percent: ["tax1", "tax2", "tax3"].iter().filter_map(|t| get(t)).sum(),
        }
    }

    /// quantity × listprice, less the line's discount.
    fn net(&self) -> Decimal {
        let gross = self.quantity * self.listprice;
        if !self.discount_percent.is_zero() {
            gross - gross * self.discount_percent / Decimal::ONE_HUNDRED
        } else {
            gross - self.discount_amount
        }
    }
}

/// The `LineItems` of an element: `None` when the key is absent (update
/// keeps the stored lines). Each needs a live product or service, a quantity
/// and a list price; amounts must be numbers.
pub fn read_lines(
    conn: &Connection,
    registry: &Registry,
    element: &Map<String, Value>,
) -> Result<Option<Vec<Line>>, WsError> {
    let Some(items) = element.get("LineItems") else {
        return Ok(None);
    };
    let items = items.as_array().ok_or_else(missing)?;
    let mut lines = Vec::with_capacity(items.len());
    for item in items {
        let item = item.as_object().ok_or_else(missing)?;
        let get = |k: &str| item.get(k).and_then(text_of);
        let product = get("productid").ok_or_else(missing)?;
        let product_id = sold_record(conn, registry, &product)?;
        let mut values = vec![("productid".to_string(), Some(product_id.to_string()))];
        let mut amount = |k: &str, required: bool| -> Result<Decimal, WsError> {
            match get(k) {
                Some(t) if !t.trim().is_empty() => {
                    let d = number(Some(&t)).ok_or_else(|| {
                        WsError::InvalidFieldValue(format!("Invalid value specified for {k}"))
                    })?;
                    values.push((k.to_string(), Some(d.normalize().to_string())));
                    Ok(d)
                }
                _ if required => Err(missing()),
                _ => Ok(Decimal::ZERO),
            }
        };
        let quantity = amount("quantity", true)?;
        let listprice = amount("listprice", true)?;
        let discount_percent = amount("discount_percent", false)?;
        let discount_amount = amount("discount_amount", false)?;
        let tax_percent = amount("tax1", false)? + amount("tax2", false)? + amount("tax3", false)?;
        for k in ["comment", "description"] {
            if let Some(t) = get(k) {
                values.push((k.to_string(), Some(t)));
            }
        }
        lines.push(Line {
            values,
            quantity,
            listprice,
            discount_percent,
            discount_amount,
            tax_percent,
        });
    }
    Ok(Some(lines))
}

/// The object id of a live product or service named by webservice id.
fn sold_record(conn: &Connection, registry: &Registry, ws: &str) -> Result<i64, WsError> {
    let invalid = || WsError::ReferenceInvalid("Invalid reference specified for productid".into());
    let ws = WsId::parse(ws).ok_or_else(invalid)?;
    let module = registry
        .module_by_prefix(ws.prefix)
        .filter(|m| SOLD.contains(&m.name.as_str()))
        .ok_or_else(invalid)?;
    match records::live_setype(conn, ws.object)? {
        Some(setype) if setype == module.name => Ok(ws.object),
        _ => Err(invalid()),
    }
}

/// The header's totals from its lines, as vtiger computes them: line nets
/// (with their own taxes when the tax type is `individual`) make the sub
/// total; the overall discount, group taxes, shipping and its taxes, and the
/// adjustment make the grand total.
pub fn totals(
    header: &impl crate::store::records::FieldValues,
    lines: &[Line],
) -> Vec<(String, Option<String>)> {
    let get = |k: &str| number(header.value(k)).unwrap_or_default();
    let group = header
        .value("hdnTaxType")
        .is_some_and(|t| t.eq_ignore_ascii_case("group"));
    let nets: Decimal = lines.iter().map(Line::net).sum();
    let line_taxes: Decimal = if group {
        Decimal::ZERO
    } else {
        lines
            .iter()
            .map(|l| l.net() * l.tax_percent / Decimal::ONE_HUNDRED)
            .sum()
    };
    let sub_total = nets + line_taxes;
    let discount = if get("hdnDiscountPercent").is_zero() {
        get("hdnDiscountAmount")
    } else {
        sub_total * get("hdnDiscountPercent") / Decimal::ONE_HUNDRED
    };
    let after_discount = sub_total - discount;
    let group_tax = if group {
        after_discount * (get("tax1") + get("tax2") + get("tax3")) / Decimal::ONE_HUNDRED
    } else {
        Decimal::ZERO
    };
    let shipping = if get("shipping_&_handling").is_zero() {
        get("hdnS_H_Amount")
    } else {
        get("shipping_&_handling")
    };
    let shipping_tax = shipping
        * (get("shipping_&_handling_shtax1")
            + get("shipping_&_handling_shtax2")
            + get("shipping_&_handling_shtax3"))
        / Decimal::ONE_HUNDRED;
    let grand = after_discount + group_tax + shipping + shipping_tax + get("txtAdjustment");
    let text = |d: Decimal| Some(d.normalize().to_string());
    vec![
        ("hdnSubTotal".into(), text(sub_total)),
        ("hdnDiscountAmount".into(), text(discount)),
        ("hdnS_H_Amount".into(), text(shipping)),
        ("pre_tax_total".into(), text(nets - discount + shipping)),
        ("hdnGrandTotal".into(), text(grand)),
    ]
}

/// Stores new lines (when given) and the record's totals, inside the
/// caller's transaction.
pub fn save(
    tx: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    id: i64,
    lines: Option<&[Line]>,
) -> Result<(), WsError> {
    let lines_module = line_module(registry, module)?;
    if let Some(lines) = lines {
        let values: Vec<_> = lines.iter().map(|l| l.values.clone()).collect();
        inventory::replace_lines(tx, lines_module, id, &values)?;
    }
    let stored_lines = inventory::line_ids(tx, lines_module, id)?
        .into_iter()
        .map(|line| {
            rows::load(tx, lines_module, line).map(|v| Line::from_stored(&v.unwrap_or_default()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let header = records::load(tx, module, id)?.ok_or_else(WsError::denied)?;
    rows::update(tx, module, id, &totals(&header.values, &stored_lines))?;
    Ok(())
}

fn line_module<'r>(registry: &'r Registry, module: &ModuleDef) -> Result<&'r ModuleDef, WsError> {
    module
        .line_items
        .as_deref()
        .and_then(|m| registry.module(m))
        .ok_or(WsError::InternalServerError)
}

/// An inventory record's wire shape with its `LineItems` after the rest.
pub fn with_lines(
    conn: &Connection,
    registry: &Registry,
    module: &ModuleDef,
    id: i64,
    mut record: WireRecord,
) -> Result<WireRecord, WsError> {
    if module.line_items.is_none() {
        return Ok(record);
    }
    let lines_module = line_module(registry, module)?;
    let lines = inventory::line_ids(conn, lines_module, id)?
        .into_iter()
        .map(|line| row_to_wire(conn, registry, lines_module, line))
        .collect::<Result<Vec<_>, _>>()?;
    record.push_tail("LineItems", Value::Array(lines));
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(q: &str, p: &str, pct: &str, amt: &str, tax: &str) -> Line {
        Line {
            values: Vec::new(),
            quantity: q.parse().unwrap(),
            listprice: p.parse().unwrap(),
            discount_percent: pct.parse().unwrap(),
            discount_amount: amt.parse().unwrap(),
            tax_percent: tax.parse().unwrap(),
        }
    }

    fn header(pairs: &[(&str, &str)]) -> crate::store::records::Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect()
    }

    fn total(t: &[(String, Option<String>)], name: &str) -> String {
        t.iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
            .unwrap()
    }

    #[test]
    fn line_discounts_and_individual_taxes_are_exact() {
        // 3 × 19.99 = 59.97, less 10% = 53.973, plus 4.5% tax = 56.401785
        // 2 × 100 = 200, less 15.50 = 184.50, plus 4.5% = 192.8025
        let lines = [
            line("3", "19.99", "10", "0", "4.5"),
            line("2", "100", "0", "15.50", "4.5"),
        ];
        let t = totals(&header(&[("hdnTaxType", "individual")]), &lines);
        assert_eq!(total(&t, "hdnSubTotal"), "249.204285");
        assert_eq!(total(&t, "pre_tax_total"), "238.473");
        assert_eq!(total(&t, "hdnGrandTotal"), "249.204285");
    }

    #[test]
    fn group_tax_overall_discount_shipping_and_adjustment() {
        let lines = [line("4", "25", "0", "0", "0")];
        let t = totals(
            &header(&[
                ("hdnTaxType", "group"),
                ("hdnDiscountPercent", "10"),
                ("tax1", "4.5"),
                ("tax2", "10"),
                ("shipping_&_handling", "20"),
                ("shipping_&_handling_shtax1", "5"),
                ("txtAdjustment", "-0.50"),
            ]),
            &lines,
        );
        // 100 − 10% = 90; group tax 14.5% of 90 = 13.05; shipping 20 + 1 tax.
        assert_eq!(total(&t, "hdnSubTotal"), "100");
        assert_eq!(total(&t, "hdnDiscountAmount"), "10");
        assert_eq!(total(&t, "pre_tax_total"), "110");
        assert_eq!(total(&t, "hdnGrandTotal"), "123.55");
    }

    #[test]
    fn a_fixed_overall_discount_applies_when_no_percent_is_given() {
        let lines = [line("1", "99999.50", "0", "0", "0")];
        let t = totals(&header(&[("hdnDiscountAmount", "0.50")]), &lines);
        assert_eq!(total(&t, "hdnGrandTotal"), "99999");
    }
}
