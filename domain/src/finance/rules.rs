//! Posting rules (业务发生即财务记账): the voucher each value-moving business event calls for, with lines
//! keyed on account roles, as `../shared/design/accounting.md` prescribes. Pure; the `AutoVouchers`
//! process manager applies them and the command-api resolves roles in the book's chart.
//!
//! Rounding: every amount here is already a rounded voucher-line amount carried by the event (line net and
//! VAT rounded half-up per line by the document that computed them; issue cost rounded by the stock item);
//! the one product computed here, the goods-received estimate, is rounded half-up per receipt line.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::accounts::AccountRole;
use super::payroll::{PayrollAccrued, PayrollPaid};
use super::voucher::{VoucherSource, VoucherWord};
use crate::ids::{BookId, EventId, ItemId, PartnerId, VoucherId};
use crate::inventory::stock::{LossTreatment, StockAdjusted, StockIssued, StockReceived, StockRevalued};
use crate::purchasing::invoice::{PurchaseFreightBooked, PurchaseInvoiceBooked};
use crate::purchasing::order::GoodsReceived;
use crate::purchasing::payment::SupplierPaid;
use crate::returns::{ReturnCompleted, ReturnCreated, ReturnDirection, ReturnLineIssued};
use crate::sales::invoice::SalesInvoiceIssued;
use crate::sales::receipt::{CustomerReceiptRecorded, ReceiptAdvanceApplied, ReceiptExcessMovedToAdvance};
use crate::sales::shipment::ShipmentCosted;
use crate::time::Timestamp;
use crate::values::round_money;

/// A voucher line before the book's chart says which account plays its role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleLine {
    pub summary: String,
    pub role: AccountRole,
    pub debit: Decimal,
    pub credit: Decimal,
    pub partner: Option<PartnerId>,
    pub item: Option<ItemId>,
}

impl RoleLine {
    fn debit(summary: &str, role: AccountRole, amount: Decimal) -> RoleLine {
        RoleLine {
            summary: summary.into(),
            role,
            debit: amount,
            credit: Decimal::ZERO,
            partner: None,
            item: None,
        }
    }

    fn credit(summary: &str, role: AccountRole, amount: Decimal) -> RoleLine {
        RoleLine {
            summary: summary.into(),
            role,
            debit: Decimal::ZERO,
            credit: amount,
            partner: None,
            item: None,
        }
    }

    fn partner(mut self, partner: PartnerId) -> RoleLine {
        self.partner = Some(partner);
        self
    }

    fn item(mut self, item: ItemId) -> RoleLine {
        self.item = Some(item);
        self
    }
}

/// The voucher a business event calls for.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoVoucher {
    /// Derived from the event ([`voucher_for`]): a replayed or retried event names the same voucher.
    pub id: VoucherId,
    pub book: BookId,
    pub word: VoucherWord,
    pub date: Timestamp,
    pub lines: Vec<RoleLine>,
    pub source: VoucherSource,
}

/// A small-scale taxpayer (小规模纳税人) cannot deduct input VAT: it is part of what the goods cost. Input
/// VAT lines go to cost of sales, like purchase price differences, so stock valuation still equals 1405.
/// Having deducted nothing, it has no input VAT to transfer out on an abnormal loss: that line becomes a
/// credit to the non-operating expense the same voucher debits, so the loss is expensed at its cost.
pub fn for_vat_status(lines: Vec<RoleLine>, vat: super::book::VatStatus) -> Vec<RoleLine> {
    if vat == super::book::VatStatus::General {
        return lines;
    }
    lines
        .into_iter()
        .map(|line| match line.role {
            AccountRole::InputVat => {
                RoleLine {
                    role: AccountRole::Cogs, summary: format!("{} (不可抵扣)", line.summary), ..line
                }
            }
            AccountRole::VatTransferOut => RoleLine {
                role: AccountRole::NonOperatingExpense,
                summary: format!("{} (小规模纳税人不适用)", line.summary),
                ..line
            },
            _ => line,
        })
        .collect()
}

/// The word an automatic voucher is numbered under: with 收付转, money into cash or bank is 收, money out
/// of them 付 (also a transfer between them), everything else 转.
pub fn word_for(lines: &[RoleLine], scheme: super::book::WordScheme) -> VoucherWord {
    if scheme == super::book::WordScheme::Single {
        return VoucherWord::Ji;
    }
    let money = |l: &&RoleLine| matches!(l.role, AccountRole::Cash | AccountRole::Bank);
    let paid = lines.iter().filter(money).any(|l| !l.credit.is_zero());
    let received = lines.iter().filter(money).any(|l| !l.debit.is_zero());
    match (received, paid) {
        (_, true) => VoucherWord::Fu,
        (true, false) => VoucherWord::Shou,
        (false, false) => VoucherWord::Zhuan,
    }
}

/// The automatic voucher of an event.
pub fn voucher_for(event: EventId) -> VoucherId {
    VoucherId(Uuid::new_v5(&event.0, b"voucher"))
}

/// Keeps the lines whose amount is not zero; a voucher whose lines all vanish is not made.
fn non_zero(lines: Vec<RoleLine>) -> Vec<RoleLine> {
    let lines: Vec<_> = lines.into_iter().filter(|l| !(l.debit.is_zero() && l.credit.is_zero())).collect();
    if lines.len() < 2 { Vec::new() } else { lines }
}

/// 暂估入库: goods received before their invoice, at the order's price net of VAT.
/// Dr Inventory per line / Cr GRNI.
/// With the invoice in the same step (发票随货): Dr Inventory per line at the invoice's net + Dr input
/// VAT / Cr Payables (gross); nothing is estimated.
pub fn goods_received(e: &GoodsReceived) -> Vec<RoleLine> {
    if let Some(invoice) = &e.invoice {
        let summary = format!("采购入库 发票 {}", invoice.number);
        let mut lines: Vec<RoleLine> = invoice
            .lines
            .iter()
            .map(|l| RoleLine::debit(&summary, AccountRole::Inventory, l.amount_net).item(l.item))
            .collect();
        lines.push(RoleLine::debit(&format!("{summary} 进项税"), AccountRole::InputVat, invoice.amount_tax));
        lines.push(
            RoleLine::credit(&summary, AccountRole::Payables, invoice.amount_gross).partner(e.supplier),
        );
        return non_zero(lines);
    }
    let mut lines: Vec<RoleLine> = e
        .lines
        .iter()
        .map(|l| {
            RoleLine::debit("采购入库(暂估)", AccountRole::Inventory, round_money(l.qty * l.unit_price))
                .item(l.item)
        })
        .collect();
    let total: Decimal = lines.iter().map(|l| l.debit).sum();
    lines.push(RoleLine::credit("采购入库(暂估)", AccountRole::Grni, total).partner(e.supplier));
    non_zero(lines)
}

/// 采购发票 matched to receipts: the estimate booked at receipt is cleared at the order's price and the
/// invoice's own net goes to payables with its input VAT. The difference between the two prices
/// (accounting.md: to inventory while the goods are on hand, else to cost of sales) stays in GRNI for
/// the stock it falls on: the price-difference flow revalues that stock and books the split
/// ([`stock_revalued`]), so stock valuation and 1405 move together. Invoices booked before that flow
/// existed (v1 events) sent the whole difference to cost of sales, and still do.
/// Dr GRNI (qty × order price) + Dr GRNI or COGS (price difference) + Dr input VAT / Cr Payables.
pub fn purchase_invoice_booked(e: &PurchaseInvoiceBooked) -> Vec<RoleLine> {
    let summary = format!("采购发票 {}", e.number);
    let mut lines = Vec::new();
    for line in &e.lines {
        lines.push(
            RoleLine::debit(&summary, AccountRole::Grni, line.estimate()).partner(e.supplier).item(line.item),
        );
        let difference = line.difference();
        if !difference.is_zero() {
            // A negative difference (invoiced below the order price) is a red debit.
            let (role, summary) = if e.revalues_stock {
                (AccountRole::Grni, format!("{summary} 价差(调整存货成本)"))
            } else {
                (AccountRole::Cogs, format!("{summary} 价差"))
            };
            lines.push(RoleLine::debit(&summary, role, difference).item(line.item));
        }
    }
    lines.push(RoleLine::debit(&format!("{summary} 进项税"), AccountRole::InputVat, e.amount_tax));
    lines.push(RoleLine::credit(&summary, AccountRole::Payables, e.amount_gross).partner(e.supplier));
    non_zero(lines)
}

/// 采购运费: a carrier's freight invoice. A trading company expenses it (the small-enterprise rule for
/// wholesale and retail: 销售费用); a manufacturer capitalizes it into the goods, so it waits in GRNI
/// for the stock it is spread over to take it ([`stock_revalued`]).
/// Dr SalesExpense (or GRNI) + Dr input VAT / Cr Payables to the carrier (gross).
pub fn purchase_freight_booked(e: &PurchaseFreightBooked) -> Vec<RoleLine> {
    let summary = format!("采购运费 {}", e.number);
    let (role, net_summary) = if e.capitalized {
        (AccountRole::Grni, format!("{summary} (计入存货成本)"))
    } else {
        (AccountRole::SalesExpense, summary.clone())
    };
    non_zero(vec![
        RoleLine::debit(&net_summary, role, e.amount_net),
        RoleLine::debit(&format!("{summary} 进项税"), AccountRole::InputVat, e.amount_tax),
        RoleLine::credit(&summary, AccountRole::Payables, e.amount_gross).partner(e.carrier),
    ])
}

/// 采购价差调整存货成本: a cost difference the stock took (the part on goods still on hand) and what
/// fell on goods already gone (cost of sales), out of GRNI where the invoice left it.
/// Dr Inventory + Dr COGS / Cr GRNI, each on the side its sign calls for.
pub fn stock_revalued(e: &StockRevalued) -> Vec<RoleLine> {
    let signed = |summary: &str, role, amount: Decimal| {
        if amount < Decimal::ZERO {
            RoleLine::credit(summary, role, -amount)
        } else {
            RoleLine::debit(summary, role, amount)
        }
    };
    non_zero(vec![
        signed("价差调整库存成本", AccountRole::Inventory, e.to_stock),
        signed("价差计入销售成本(已售出)", AccountRole::Cogs, e.to_cost),
        signed("价差转出暂估", AccountRole::Grni, -e.amount),
    ])
}

/// 盘盈 / 盘亏 (and any other stock adjustment): through 待处理财产损溢, then out of it as approved (the
/// stocktake was approved before its adjustments were posted, so both steps are one voucher).
/// Gain: Dr Inventory / Cr PendingLoss, Dr PendingLoss / Cr NonOperatingIncome.
/// Loss: Dr PendingLoss / Cr Inventory; an abnormal loss also Dr PendingLoss / Cr input VAT transferred
/// out (the goods' cost × their VAT rate, rounded half-up); then Dr OtherReceivables (what someone owes)
/// + Dr NonOperatingExpense (the rest) / Cr PendingLoss. A compensation above the loss is income.
pub fn stock_adjusted(e: &StockAdjusted) -> Vec<RoleLine> {
    let value = e.value_delta;
    if value > Decimal::ZERO {
        let summary = "盘盈";
        return non_zero(vec![
            RoleLine::debit(summary, AccountRole::Inventory, value),
            RoleLine::credit(summary, AccountRole::PendingLoss, value),
            RoleLine::debit("盘盈转营业外收入", AccountRole::PendingLoss, value),
            RoleLine::credit("盘盈转营业外收入", AccountRole::NonOperatingIncome, value),
        ]);
    }
    let loss = -value;
    let treatment = e.loss.clone().unwrap_or(LossTreatment {
        abnormal_vat_rate: None,
        compensation: Decimal::ZERO,
        liable: None,
    });
    let vat = treatment.abnormal_vat_rate.map_or(Decimal::ZERO, |rate| round_money(loss * rate));
    let total = loss + vat;
    let compensation = treatment.compensation;
    let liable = treatment.liable.as_deref().unwrap_or("");
    let summary = if vat.is_zero() { "盘亏" } else { "非正常损失" };
    non_zero(vec![
        RoleLine::debit(summary, AccountRole::PendingLoss, loss),
        RoleLine::credit(summary, AccountRole::Inventory, loss),
        RoleLine::debit("非正常损失 进项税额转出", AccountRole::PendingLoss, vat),
        RoleLine::credit("非正常损失 进项税额转出", AccountRole::VatTransferOut, vat),
        RoleLine::debit(&format!("盘亏赔偿 {liable}"), AccountRole::OtherReceivables, compensation),
        RoleLine::debit(
            "盘亏转营业外支出",
            AccountRole::NonOperatingExpense,
            (total - compensation).max(Decimal::ZERO),
        ),
        RoleLine::credit("盘亏处理", AccountRole::PendingLoss, total),
        RoleLine::credit(
            "赔偿超出损失",
            AccountRole::NonOperatingIncome,
            (compensation - total).max(Decimal::ZERO),
        ),
    ])
}

/// A return agreed with the partner: a red invoice. From a customer: Dr Receivables / Cr Revenue /
/// Cr output VAT, all red. To a supplier (taken as already invoiced): Dr Payables (gross) / Cr Inventory
/// (net, per line) / Cr input VAT; the goods' stock cost and the return price may differ, the
/// difference stays in inventory.
pub fn return_created(e: &ReturnCreated) -> Vec<RoleLine> {
    match e.direction {
        ReturnDirection::FromCustomer => non_zero(vec![
            RoleLine::debit("销售退货(红字发票)", AccountRole::Receivables, -e.amount_gross)
                .partner(e.partner),
            RoleLine::credit("销售退货(红字发票)", AccountRole::Revenue, -e.amount_net).partner(e.partner),
            RoleLine::credit("销售退货(销项税)", AccountRole::OutputVat, -e.amount_tax),
        ]),
        ReturnDirection::ToSupplier => {
            let mut lines =
                vec![RoleLine::debit("采购退货", AccountRole::Payables, e.amount_gross).partner(e.partner)];
            lines.extend(
                e.lines
                    .iter()
                    .map(|l| RoleLine::credit("采购退货", AccountRole::Inventory, l.amount_net).item(l.item)),
            );
            lines.push(RoleLine::credit("采购退货(进项税)", AccountRole::InputVat, e.amount_tax));
            non_zero(lines)
        }
    }
}

/// A supplier return's goods left stock at their cost while the supplier credits the return price
/// (the red invoice credited inventory at that price): inventory is put right by the difference and
/// cost of sales takes it. Price above cost: Dr Inventory / Cr COGS; below: Dr COGS / Cr Inventory.
pub fn return_line_issued(e: &ReturnLineIssued) -> Vec<RoleLine> {
    let difference = e.difference;
    let (inventory, cost) = if difference >= Decimal::ZERO {
        (
            RoleLine::debit("采购退货成本差异", AccountRole::Inventory, difference),
            RoleLine::credit("采购退货成本差异", AccountRole::Cogs, difference),
        )
    } else {
        (
            RoleLine::credit("采购退货成本差异", AccountRole::Inventory, -difference),
            RoleLine::debit("采购退货成本差异", AccountRole::Cogs, -difference),
        )
    };
    non_zero(vec![inventory.item(e.item), cost])
}

/// Goods a customer returned are back in stock at the cost they left with: Dr Inventory (per line) /
/// Cr COGS.
pub fn return_completed(e: &ReturnCompleted) -> Vec<RoleLine> {
    if e.direction != ReturnDirection::FromCustomer {
        return Vec::new();
    }
    let mut lines: Vec<RoleLine> = e
        .lines
        .iter()
        .filter_map(|l| {
            let cost = round_money(l.qty * l.unit_cost?);
            Some(RoleLine::debit("销售退货入库", AccountRole::Inventory, cost).item(l.item))
        })
        .collect();
    let cost: Decimal = lines.iter().map(|l| l.debit).sum();
    lines.push(RoleLine::credit("销售退货冲减成本", AccountRole::Cogs, cost));
    non_zero(lines)
}

/// 生产领料: material issued to a production order. Dr ProductionCost / Cr Inventory (the material's
/// stock account: 原材料 for raw materials).
pub fn production_issue(e: &StockIssued) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("生产领料", AccountRole::ProductionCost, e.value),
        RoleLine::credit("生产领料", AccountRole::Inventory, e.value),
    ])
}

/// 完工入库: the product received into stock at the order's cost. Dr Inventory / Cr ProductionCost.
pub fn production_receipt(e: &StockReceived) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("完工入库", AccountRole::Inventory, e.value),
        RoleLine::credit("完工入库", AccountRole::ProductionCost, e.value),
    ])
}

/// 结转销售成本: Dr COGS / Cr Inventory at the cost the stock issues carried.
pub fn shipment_costed(e: &ShipmentCosted) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("销售出库成本", AccountRole::Cogs, e.value),
        RoleLine::credit("销售出库成本", AccountRole::Inventory, e.value),
    ])
}

/// 销售开票: Dr Receivables (gross) / Cr Revenue (net) / Cr output VAT.
pub fn sales_invoice_issued(e: &SalesInvoiceIssued) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("销售开票", AccountRole::Receivables, e.amount_gross).partner(e.customer),
        RoleLine::credit("销售开票", AccountRole::Revenue, e.amount_net).partner(e.customer),
        RoleLine::credit("销售开票(销项税)", AccountRole::OutputVat, e.amount_tax),
    ])
}

/// 收款: Dr Bank / Cr Receivables for what was allocated to invoices, Cr advance receipts for the rest.
pub fn customer_receipt(e: &CustomerReceiptRecorded) -> Vec<RoleLine> {
    let allocated: Decimal = e.allocations.iter().map(|(_, amount)| *amount).sum();
    non_zero(vec![
        RoleLine::debit("收款", AccountRole::Bank, e.amount).partner(e.customer),
        RoleLine::credit("收款核销", AccountRole::Receivables, allocated).partner(e.customer),
        RoleLine::credit("预收款", AccountRole::AdvanceReceipts, e.advance).partner(e.customer),
    ])
}

/// Part of a receipt allocated to an invoice did not fit it: back from receivables to advance receipts.
pub fn receipt_excess(e: &ReceiptExcessMovedToAdvance) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("收款超出发票余额", AccountRole::Receivables, e.amount),
        RoleLine::credit("转预收款", AccountRole::AdvanceReceipts, e.amount),
    ])
}

/// 预收款冲应收: an advance applied to an invoice. Dr AdvanceReceipts / Cr Receivables.
pub fn advance_applied(e: &ReceiptAdvanceApplied) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("预收款冲应收", AccountRole::AdvanceReceipts, e.amount).partner(e.customer),
        RoleLine::credit("预收款冲应收", AccountRole::Receivables, e.amount).partner(e.customer),
    ])
}

/// 计提工资: Dr SalesExpense / AdminExpense / ProductionCost / Cr PayrollPayable.
pub fn payroll_accrued(e: &PayrollAccrued) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("计提工资(销售)", AccountRole::SalesExpense, e.selling),
        RoleLine::debit("计提工资(管理)", AccountRole::AdminExpense, e.administration),
        RoleLine::debit("计提工资(生产)", AccountRole::ProductionCost, e.production),
        RoleLine::credit("计提工资", AccountRole::PayrollPayable, e.total),
    ])
}

/// 发放工资: Dr PayrollPayable / Cr Bank (net) / Cr individual income tax withheld.
pub fn payroll_paid(e: &PayrollPaid) -> Vec<RoleLine> {
    non_zero(vec![
        RoleLine::debit("发放工资", AccountRole::PayrollPayable, e.net + e.income_tax),
        RoleLine::credit("发放工资", AccountRole::Bank, e.net),
        RoleLine::credit("代扣个人所得税", AccountRole::IndividualIncomeTax, e.income_tax),
    ])
}

/// 付款: Dr Payables for what was allocated to invoices, Dr prepayments for the rest / Cr Bank.
pub fn supplier_paid(e: &SupplierPaid) -> Vec<RoleLine> {
    let allocated: Decimal = e.allocations.iter().map(|(_, amount)| *amount).sum();
    non_zero(vec![
        RoleLine::debit("付款核销", AccountRole::Payables, allocated).partner(e.supplier),
        RoleLine::debit("预付款", AccountRole::Prepayments, e.prepayment).partner(e.supplier),
        RoleLine::credit("付款", AccountRole::Bank, e.amount).partner(e.supplier),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{
        CustomerReceiptId, GoodsReceiptId, PurchaseOrderId, SalesInvoiceId, ShipmentId, SupplierPaymentId,
        WarehouseId,
    };
    use crate::inventory::{CostingMethod, StockPolicy};
    use crate::purchasing::order::ReceivedLine;
    use crate::sales::invoice::InvoiceLine;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn balanced(lines: &[RoleLine]) -> bool {
        lines.iter().map(|l| l.debit).sum::<Decimal>() == lines.iter().map(|l| l.credit).sum::<Decimal>()
    }

    fn sides(lines: &[RoleLine]) -> Vec<(AccountRole, Decimal, Decimal)> {
        lines.iter().map(|l| (l.role, l.debit, l.credit)).collect()
    }

    fn partner() -> PartnerId {
        PartnerId(Uuid::from_u128(60))
    }

    #[test]
    fn goods_received_without_invoice_are_estimated_at_the_order_price_per_line() {
        let policy =
            StockPolicy { costing: CostingMethod::Fifo, safety_stock: Decimal::ZERO, allow_negative: false };
        let line = |n: u128, qty: &str, price: &str| ReceivedLine {
            line: n as u32,
            item: ItemId(Uuid::from_u128(n)),
            qty: d(qty),
            unit_price: d(price),
            policy: policy.clone(),
        };
        let received = GoodsReceived {
            id: PurchaseOrderId(Uuid::from_u128(1)),
            receipt: GoodsReceiptId(Uuid::from_u128(2)),
            warehouse: WarehouseId(Uuid::from_u128(3)),
            supplier: partner(),
            lines: vec![line(1, "3", "3.335"), line(2, "10", "2.50")],
            bin: None,
            lot: None,
            by: "kai".into(),
            invoice: None,
        };
        let lines = goods_received(&received);
        // 3 × 3.335 = 10.005 → 10.01 (half up), 25.00; the estimate is their sum.
        assert_eq!(
            sides(&lines),
            vec![
                (AccountRole::Inventory, d("10.01"), d("0")),
                (AccountRole::Inventory, d("25.00"), d("0")),
                (AccountRole::Grni, d("0"), d("35.01")),
            ]
        );
        assert_eq!(lines[2].partner, Some(partner()));
    }

    #[test]
    fn freight_is_a_selling_expense_unless_the_book_capitalizes_it_into_the_goods() {
        let freight = |capitalized| PurchaseFreightBooked {
            id: crate::ids::PurchaseInvoiceId(Uuid::from_u128(1)),
            carrier: partner(),
            number: "No.0990".into(),
            po: PurchaseOrderId(Uuid::from_u128(2)),
            vat_rate: d("0.09"),
            amount_net: d("30.00"),
            amount_tax: d("2.70"),
            amount_gross: d("32.70"),
            capitalized,
        };
        assert_eq!(
            sides(&purchase_freight_booked(&freight(false))),
            vec![
                (AccountRole::SalesExpense, d("30.00"), d("0")),
                (AccountRole::InputVat, d("2.70"), d("0")),
                (AccountRole::Payables, d("0"), d("32.70")),
            ]
        );
        assert_eq!(
            sides(&purchase_freight_booked(&freight(true)))[0],
            (AccountRole::Grni, d("30.00"), d("0"))
        );
    }

    #[test]
    fn goods_that_come_with_their_invoice_go_to_stock_at_its_price_with_no_estimate() {
        use crate::purchasing::invoice::PurchaseInvoiceLine;
        use crate::purchasing::order::ReceivedInvoice;
        let policy =
            StockPolicy { costing: CostingMethod::Fifo, safety_stock: Decimal::ZERO, allow_negative: false };
        let received = GoodsReceived {
            id: PurchaseOrderId(Uuid::from_u128(1)),
            receipt: GoodsReceiptId(Uuid::from_u128(2)),
            warehouse: WarehouseId(Uuid::from_u128(3)),
            supplier: partner(),
            lines: vec![ReceivedLine {
                line: 0,
                item: ItemId(Uuid::from_u128(4)),
                qty: d("10"),
                unit_price: d("20.50"),
                policy,
            }],
            bin: None,
            lot: None,
            by: "kai".into(),
            invoice: Some(ReceivedInvoice {
                id: crate::ids::PurchaseInvoiceId(Uuid::from_u128(5)),
                number: "No.1".into(),
                lines: vec![PurchaseInvoiceLine {
                    po: PurchaseOrderId(Uuid::from_u128(1)),
                    po_line: 0,
                    item: ItemId(Uuid::from_u128(4)),
                    qty: d("10"),
                    unit_price: d("20.50"),
                    vat_rate: d("0.13"),
                    amount_net: d("205.00"),
                    amount_tax: d("26.65"),
                    ordered_price: d("20.00"),
                    received_qty: d("10"),
                }],
                amount_net: d("205.00"),
                amount_tax: d("26.65"),
                amount_gross: d("231.65"),
            }),
        };
        assert_eq!(
            sides(&goods_received(&received)),
            vec![
                (AccountRole::Inventory, d("205.00"), d("0")),
                (AccountRole::InputVat, d("26.65"), d("0")),
                (AccountRole::Payables, d("0"), d("231.65")),
            ]
        );
    }

    #[test]
    fn a_costed_shipment_moves_its_cost_from_inventory_to_cogs_and_a_zero_cost_makes_no_voucher() {
        let costed = ShipmentCosted { id: ShipmentId(Uuid::from_u128(1)), value: d("72.00") };
        assert_eq!(
            sides(&shipment_costed(&costed)),
            vec![(AccountRole::Cogs, d("72.00"), d("0")), (AccountRole::Inventory, d("0"), d("72.00"))]
        );
        assert!(shipment_costed(&ShipmentCosted { value: Decimal::ZERO, ..costed }).is_empty());
    }

    #[test]
    fn an_invoice_books_receivables_gross_revenue_net_and_output_vat() {
        let issued = SalesInvoiceIssued {
            id: SalesInvoiceId(Uuid::from_u128(1)),
            customer: partner(),
            shipments: vec![ShipmentId(Uuid::from_u128(2))],
            lines: vec![InvoiceLine {
                shipment: ShipmentId(Uuid::from_u128(2)),
                item: ItemId(Uuid::from_u128(3)),
                qty: d("3"),
                unit_price: d("19.90"),
                vat_rate: d("0.13"),
                amount_net: d("59.70"),
                amount_tax: d("7.76"),
            }],
            amount_net: d("59.70"),
            amount_tax: d("7.76"),
            amount_gross: d("67.46"),
            issued_at: Timestamp(0),
            due_at: Timestamp(0),
        };
        let lines = sales_invoice_issued(&issued);
        assert!(balanced(&lines));
        assert_eq!(
            sides(&lines),
            vec![
                (AccountRole::Receivables, d("67.46"), d("0")),
                (AccountRole::Revenue, d("0"), d("59.70")),
                (AccountRole::OutputVat, d("0"), d("7.76")),
            ]
        );
    }

    #[test]
    fn a_receipt_clears_receivables_for_what_it_allocated_and_keeps_the_rest_as_an_advance() {
        let recorded = CustomerReceiptRecorded {
            id: CustomerReceiptId(Uuid::from_u128(1)),
            customer: partner(),
            amount: d("100"),
            allocations: vec![(SalesInvoiceId(Uuid::from_u128(2)), d("67.46"))],
            advance: d("32.54"),
            automatic: true,
        };
        let lines = customer_receipt(&recorded);
        assert!(balanced(&lines));
        assert_eq!(lines.len(), 3);
        let all_advance = CustomerReceiptRecorded { allocations: Vec::new(), advance: d("100"), ..recorded };
        assert_eq!(
            sides(&customer_receipt(&all_advance)),
            vec![(AccountRole::Bank, d("100"), d("0")), (AccountRole::AdvanceReceipts, d("0"), d("100"))]
        );
        let excess =
            ReceiptExcessMovedToAdvance { invoice: SalesInvoiceId(Uuid::from_u128(2)), amount: d("5") };
        assert!(balanced(&receipt_excess(&excess)));
    }

    #[test]
    fn a_supplier_payment_clears_payables_and_books_the_rest_as_a_prepayment() {
        let paid = SupplierPaid {
            id: SupplierPaymentId(Uuid::from_u128(1)),
            supplier: partner(),
            amount: d("500"),
            allocations: vec![(crate::ids::PurchaseInvoiceId(Uuid::from_u128(2)), d("339"))],
            prepayment: d("161"),
            by: "zhao".into(),
        };
        let lines = supplier_paid(&paid);
        assert!(balanced(&lines));
        assert_eq!(
            sides(&lines),
            vec![
                (AccountRole::Payables, d("339"), d("0")),
                (AccountRole::Prepayments, d("161"), d("0")),
                (AccountRole::Bank, d("0"), d("500")),
            ]
        );
    }

    #[test]
    fn a_matched_purchase_invoice_clears_the_estimate_books_input_vat_and_the_price_difference() {
        use crate::purchasing::invoice::PurchaseInvoiceLine;
        let line = |price: &str, net: &str, tax: &str| PurchaseInvoiceLine {
            po: PurchaseOrderId(Uuid::from_u128(1)),
            po_line: 0,
            item: ItemId(Uuid::from_u128(2)),
            qty: d("10"),
            unit_price: d(price),
            vat_rate: d("0.13"),
            amount_net: d(net),
            amount_tax: d(tax),
            ordered_price: d("12.00"),
            received_qty: d("10"),
        };
        let booked = |lines: Vec<PurchaseInvoiceLine>| PurchaseInvoiceBooked {
            id: crate::ids::PurchaseInvoiceId(Uuid::from_u128(3)),
            supplier: partner(),
            number: "No.0012345".into(),
            amount_net: lines.iter().map(|l| l.amount_net).sum(),
            amount_tax: lines.iter().map(|l| l.amount_tax).sum(),
            amount_gross: lines.iter().map(|l| l.amount_net + l.amount_tax).sum(),
            lines,
            revalues_stock: false,
        };
        // Invoiced at 12.30 against an order at 12.00: 3.00 of price difference.
        let dearer = purchase_invoice_booked(&booked(vec![line("12.30", "123.00", "15.99")]));
        assert!(balanced(&dearer));
        assert_eq!(
            sides(&dearer),
            vec![
                (AccountRole::Grni, d("120.00"), d("0")),
                (AccountRole::Cogs, d("3.00"), d("0")),
                (AccountRole::InputVat, d("15.99"), d("0")),
                (AccountRole::Payables, d("0"), d("138.99")),
            ]
        );
        // At the order price: no difference line.
        let same = purchase_invoice_booked(&booked(vec![line("12.00", "120.00", "15.60")]));
        assert_eq!(same.len(), 3);
        assert!(balanced(&same));
        // Cheaper: the difference is a red debit to cost of sales.
        let cheaper = purchase_invoice_booked(&booked(vec![line("11.90", "119.00", "15.47")]));
        assert!(balanced(&cheaper));
        assert_eq!(cheaper[1].debit, d("-1.00"));
        // Since v2 the difference waits in GRNI for the stock it falls on.
        let v2 =
            PurchaseInvoiceBooked { revalues_stock: true, ..booked(vec![line("12.30", "123.00", "15.99")]) };
        let waiting = purchase_invoice_booked(&v2);
        assert!(balanced(&waiting));
        assert_eq!(sides(&waiting)[1], (AccountRole::Grni, d("3.00"), d("0")));
    }

    #[test]
    fn a_revaluation_moves_the_difference_out_of_grni_into_stock_and_cost_of_sales() {
        let revalued = |amount: &str, to_stock: &str| StockRevalued {
            qty: d("10"),
            amount: d(amount),
            to_stock: d(to_stock),
            to_cost: d(amount) - d(to_stock),
            layers: Vec::new(),
            source: crate::inventory::DocRef {
                kind: "purchasing.PurchaseInvoice".into(),
                id: Uuid::from_u128(3),
                line: Some(0),
            },
        };
        // 3.00 dearer, 4 of 10 still on hand: 1.20 to stock, 1.80 to cost of sales.
        let dearer = stock_revalued(&revalued("3.00", "1.20"));
        assert!(balanced(&dearer));
        assert_eq!(
            sides(&dearer),
            vec![
                (AccountRole::Inventory, d("1.20"), d("0")),
                (AccountRole::Cogs, d("1.80"), d("0")),
                (AccountRole::Grni, d("0"), d("3.00")),
            ]
        );
        // Cheaper, all on hand: Dr GRNI / Cr Inventory, nothing to cost.
        assert_eq!(
            sides(&stock_revalued(&revalued("-1.00", "-1.00"))),
            vec![(AccountRole::Inventory, d("0"), d("1.00")), (AccountRole::Grni, d("1.00"), d("0"))]
        );
    }

    #[test]
    fn a_stocktake_gain_or_loss_passes_through_pending_loss_to_non_operating_income_or_expense() {
        let adjusted = |value: &str| StockAdjusted {
            qty_delta: Decimal::ONE,
            value_delta: d(value),
            unit_cost: d("3"),
            takes: Vec::new(),
            reason: "盘点".into(),
            source: crate::inventory::DocRef {
                kind: "inventory.Stocktake".into(),
                id: Uuid::from_u128(1),
                line: Some(0),
            },
            loss: None,
        };
        let gain = stock_adjusted(&adjusted("3.00"));
        assert!(balanced(&gain));
        assert_eq!(gain[0].role, AccountRole::Inventory);
        assert_eq!(gain[3], RoleLine::credit("盘盈转营业外收入", AccountRole::NonOperatingIncome, d("3.00")));
        let loss = stock_adjusted(&adjusted("-6.00"));
        assert!(balanced(&loss));
        assert_eq!(loss[1], RoleLine::credit("盘亏", AccountRole::Inventory, d("6.00")));
        assert_eq!(loss[2], RoleLine::debit("盘亏转营业外支出", AccountRole::NonOperatingExpense, d("6.00")));
        assert!(stock_adjusted(&adjusted("0")).is_empty());
    }

    #[test]
    fn an_abnormal_loss_transfers_its_input_vat_out_and_what_someone_owes_is_receivable_from_them() {
        let adjusted = |compensation: &str, rate: Option<&str>| StockAdjusted {
            qty_delta: d("-10"),
            value_delta: d("-200.00"),
            unit_cost: d("20"),
            takes: Vec::new(),
            reason: "stocktake loss".into(),
            source: crate::inventory::DocRef {
                kind: "inventory.Stocktake".into(),
                id: Uuid::from_u128(1),
                line: Some(0),
            },
            loss: Some(LossTreatment {
                abnormal_vat_rate: rate.map(d),
                compensation: d(compensation),
                liable: Some("仓管员 王五".into()),
            }),
        };
        // Stolen goods costing 200.00 at 13 %: 26.00 of input VAT back; the warehouse keeper owes 50.
        let theft = stock_adjusted(&adjusted("50", Some("0.13")));
        assert!(balanced(&theft));
        assert_eq!(
            sides(&theft),
            vec![
                (AccountRole::PendingLoss, d("200.00"), d("0")),
                (AccountRole::Inventory, d("0"), d("200.00")),
                (AccountRole::PendingLoss, d("26.00"), d("0")),
                (AccountRole::VatTransferOut, d("0"), d("26.00")),
                (AccountRole::OtherReceivables, d("50"), d("0")),
                (AccountRole::NonOperatingExpense, d("176.00"), d("0")),
                (AccountRole::PendingLoss, d("0"), d("226.00")),
            ]
        );
        assert_eq!(theft[4].summary, "盘亏赔偿 仓管员 王五");
        // An insurer paying more than the loss: the excess is non-operating income, nothing is expensed.
        let insured = stock_adjusted(&adjusted("250", None));
        assert!(balanced(&insured));
        assert_eq!(
            sides(&insured)[2..],
            [
                (AccountRole::OtherReceivables, d("250"), d("0")),
                (AccountRole::PendingLoss, d("0"), d("200.00")),
                (AccountRole::NonOperatingIncome, d("0"), d("50.00")),
            ]
        );
        // A small-scale taxpayer deducted nothing: the loss is expensed at its cost, 200 − 50.
        let small = for_vat_status(theft, crate::finance::book::VatStatus::SmallScale);
        assert!(balanced(&small));
        let expense: Decimal = small
            .iter()
            .filter(|l| l.role == AccountRole::NonOperatingExpense)
            .map(|l| l.debit - l.credit)
            .sum();
        assert_eq!(expense, d("150.00"));
        assert!(small.iter().all(|l| l.role != AccountRole::VatTransferOut));
    }

    #[test]
    fn a_customer_return_is_a_red_invoice_and_puts_its_cost_back_into_stock() {
        use crate::returns::ReturnLine;
        let policy =
            StockPolicy { costing: CostingMethod::Fifo, safety_stock: Decimal::ZERO, allow_negative: false };
        let lines = vec![ReturnLine {
            line: 0,
            item: ItemId(Uuid::from_u128(2)),
            qty: d("2"),
            unit_price: d("19.90"),
            vat_rate: d("0.13"),
            amount_net: d("39.80"),
            amount_tax: d("5.17"),
            unit_cost: Some(d("12.00")),
            policy,
        }];
        let created = ReturnCreated {
            id: crate::ids::ReturnId(Uuid::from_u128(1)),
            direction: ReturnDirection::FromCustomer,
            partner: partner(),
            warehouse: WarehouseId(Uuid::from_u128(3)),
            original: crate::inventory::DocRef {
                kind: "sales.Shipment".into(),
                id: Uuid::from_u128(4),
                line: None,
            },
            lines: lines.clone(),
            amount_net: d("39.80"),
            amount_tax: d("5.17"),
            amount_gross: d("44.97"),
            reason: "破损".into(),
        };
        let red = return_created(&created);
        assert!(balanced(&red));
        assert_eq!(
            sides(&red),
            vec![
                (AccountRole::Receivables, d("-44.97"), d("0")),
                (AccountRole::Revenue, d("0"), d("-39.80")),
                (AccountRole::OutputVat, d("0"), d("-5.17")),
            ]
        );
        let back = ReturnCompleted {
            id: created.id,
            direction: ReturnDirection::FromCustomer,
            warehouse: created.warehouse,
            lines,
            by: "kai".into(),
        };
        assert_eq!(
            sides(&return_completed(&back)),
            vec![(AccountRole::Inventory, d("24.00"), d("0")), (AccountRole::Cogs, d("0"), d("24.00"))]
        );
        let to_supplier = ReturnCreated { direction: ReturnDirection::ToSupplier, ..created };
        let lines = return_created(&to_supplier);
        assert!(balanced(&lines));
        assert_eq!(lines[0].role, AccountRole::Payables);
    }

    #[test]
    fn a_supplier_return_below_cost_is_a_loss_to_cost_of_sales_and_takes_the_rest_out_of_inventory() {
        let issued = |difference: &str| ReturnLineIssued {
            id: crate::ids::ReturnId(Uuid::from_u128(1)),
            line: 0,
            item: ItemId(Uuid::from_u128(2)),
            cost: d("40.00"),
            amount_net: d("40.00") + d(difference),
            difference: d(difference),
        };
        assert_eq!(
            sides(&return_line_issued(&issued("-3.00"))),
            vec![(AccountRole::Inventory, d("0"), d("3.00")), (AccountRole::Cogs, d("3.00"), d("0"))]
        );
        assert_eq!(
            sides(&return_line_issued(&issued("2.00"))),
            vec![(AccountRole::Inventory, d("2.00"), d("0")), (AccountRole::Cogs, d("0"), d("2.00"))]
        );
        assert!(return_line_issued(&issued("0")).is_empty(), "returned at cost: nothing to put right");
    }

    #[test]
    fn payroll_is_accrued_to_its_cost_centres_and_paid_net_of_income_tax() {
        let book = BookId(Uuid::from_u128(1));
        let period = crate::time::Period::new(2026, 11).unwrap();
        let accrued = PayrollAccrued {
            book,
            period,
            selling: d("3000"),
            administration: d("5000"),
            production: Decimal::ZERO,
            total: d("8000"),
            by: "zhao".into(),
        };
        let lines = payroll_accrued(&accrued);
        assert!(balanced(&lines));
        assert_eq!(lines.len(), 3, "no production line when nothing was produced");
        let paid = PayrollPaid { book, period, net: d("7400"), income_tax: d("600"), by: "zhao".into() };
        assert_eq!(
            sides(&payroll_paid(&paid)),
            vec![
                (AccountRole::PayrollPayable, d("8000"), d("0")),
                (AccountRole::Bank, d("0"), d("7400")),
                (AccountRole::IndividualIncomeTax, d("0"), d("600")),
            ]
        );
    }

    #[test]
    fn with_receipt_payment_transfer_words_money_in_is_shou_money_out_fu_and_the_rest_zhuan() {
        use crate::finance::book::WordScheme::{ReceiptPaymentTransfer, Single};
        let receipt = customer_receipt(&CustomerReceiptRecorded {
            id: CustomerReceiptId(Uuid::from_u128(1)),
            customer: partner(),
            amount: d("100"),
            allocations: Vec::new(),
            advance: d("100"),
            automatic: false,
        });
        let cost = shipment_costed(&ShipmentCosted { id: ShipmentId(Uuid::from_u128(1)), value: d("5") });
        assert_eq!(word_for(&receipt, ReceiptPaymentTransfer), VoucherWord::Shou);
        assert_eq!(word_for(&cost, ReceiptPaymentTransfer), VoucherWord::Zhuan);
        let paid = supplier_paid(&SupplierPaid {
            id: SupplierPaymentId(Uuid::from_u128(1)),
            supplier: partner(),
            amount: d("10"),
            allocations: Vec::new(),
            prepayment: d("10"),
            by: "zhao".into(),
        });
        assert_eq!(word_for(&paid, ReceiptPaymentTransfer), VoucherWord::Fu);
        assert_eq!(word_for(&paid, Single), VoucherWord::Ji);
    }

    #[test]
    fn a_small_scale_taxpayer_expenses_input_vat_instead_of_deducting_it() {
        use crate::finance::book::VatStatus;
        let lines = vec![
            RoleLine::debit("采购发票", AccountRole::Grni, d("100")),
            RoleLine::debit("采购发票 进项税", AccountRole::InputVat, d("3")),
            RoleLine::credit("采购发票", AccountRole::Payables, d("103")),
        ];
        assert_eq!(for_vat_status(lines.clone(), VatStatus::General), lines);
        let small = for_vat_status(lines, VatStatus::SmallScale);
        assert_eq!(sides(&small)[1], (AccountRole::Cogs, d("3"), d("0")));
        assert!(balanced(&small));
    }

    #[test]
    fn the_voucher_of_an_event_is_always_the_same_voucher() {
        let event = EventId(Uuid::from_u128(42));
        assert_eq!(voucher_for(event), voucher_for(event));
        assert_ne!(voucher_for(event), voucher_for(EventId(Uuid::from_u128(43))));
    }
}
