//! The audit log of moderators' actions (spec/reports.md §10, §11). The
//! operator's routes are in [`admin`](crate::admin).

use accord_proto::audit::AuditLog;

crate::endpoint! {
    /// `GET /v1/audit`: the audit log export (spec/reports.md §10, §11).
    GetAudit = Get "/v1/audit", Public, () => AuditLog
}
