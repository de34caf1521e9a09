// Who sees the reports and administration pages, matching internal/auth:
// reports need report.read, administration tenant.write / user.write, the
// audit viewer audit.read.
export const canReports = (r?: string) => r === 'province_admin' || r === 'tenant_admin' || r === 'supervisor' || r === 'auditor';
export const canAdmin = (r?: string) => r === 'province_admin' || r === 'tenant_admin';
export const canAudit = (r?: string) => r === 'province_admin' || r === 'tenant_admin' || r === 'auditor';
// Roles a user of role r may create (auth.MayGrant).
export const grantable = (r?: string) => {
  const all = ['province_admin', 'tenant_admin', 'supervisor', 'agent', 'auditor', 'ops'];
  if (r === 'province_admin') return all;
  if (r === 'tenant_admin') return all.slice(1);
  return [];
};
