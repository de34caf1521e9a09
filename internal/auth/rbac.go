package auth

import "slices"

// Roles.
const (
	RoleProvinceAdmin = "province_admin" // runs the platform for the province union
	RoleTenantAdmin   = "tenant_admin"   // administers one bank (and its branches)
	RoleSupervisor    = "supervisor"     // watches queues and agents, routes by hand
	RoleAgent         = "agent"          // serves customers
	RoleAuditor       = "auditor"        // compliance / QC: reads records, audit, verdicts
	RoleOps           = "ops"            // operations: health, jobs, tenants read-only
)

// Roles lists every role.
var Roles = []string{RoleProvinceAdmin, RoleTenantAdmin, RoleSupervisor, RoleAgent, RoleAuditor, RoleOps}

// Perm is a permission checked by the API.
type Perm string

// Permissions.
const (
	PermTenantRead   Perm = "tenant.read"
	PermTenantWrite  Perm = "tenant.write"
	PermUserRead     Perm = "user.read"
	PermUserWrite    Perm = "user.write"
	PermQueueConfig  Perm = "queue.config"
	PermQueueRead    Perm = "queue.read"
	PermQueueRoute   Perm = "queue.route"
	PermAgentSelf    Perm = "agent.self"
	PermAgentRead    Perm = "agent.read"
	PermAgentForce   Perm = "agent.force"
	PermRecordRead   Perm = "record.read"
	PermRecordWrite  Perm = "record.write"
	PermCustomerRead Perm = "customer.read"
	PermCustomerPII  Perm = "customer.pii" // see ID, card and phone numbers unmasked
	PermCustomerEdit Perm = "customer.write"
	PermAuditRead    Perm = "audit.read"
	PermJobRead      Perm = "job.read"
	PermJobSubmit    Perm = "job.submit"
	PermApptWrite    Perm = "appointment.write"
	PermApptRead     Perm = "appointment.read"
	PermReportRead   Perm = "report.read" // reports and their Excel export
)

var rolePerms = map[string][]Perm{
	RoleProvinceAdmin: {PermTenantRead, PermTenantWrite, PermUserRead, PermUserWrite, PermQueueConfig, PermQueueRead, PermQueueRoute,
		PermAgentRead, PermAgentForce, PermRecordRead, PermCustomerRead, PermAuditRead, PermJobRead, PermJobSubmit, PermApptRead, PermApptWrite, PermReportRead},
	RoleTenantAdmin: {PermTenantRead, PermTenantWrite, PermUserRead, PermUserWrite, PermQueueConfig, PermQueueRead, PermQueueRoute,
		PermAgentRead, PermAgentForce, PermRecordRead, PermCustomerRead, PermAuditRead, PermJobRead, PermApptRead, PermApptWrite, PermReportRead},
	RoleSupervisor: {PermTenantRead, PermQueueRead, PermQueueRoute, PermAgentRead, PermAgentForce, PermRecordRead, PermCustomerRead,
		PermJobRead, PermApptRead, PermApptWrite, PermReportRead},
	RoleAgent:   {PermAgentSelf, PermRecordRead, PermRecordWrite, PermCustomerRead, PermCustomerPII, PermCustomerEdit, PermApptRead, PermApptWrite},
	RoleAuditor: {PermRecordRead, PermCustomerRead, PermCustomerPII, PermAuditRead, PermJobRead, PermJobSubmit, PermReportRead},
	RoleOps:     {PermTenantRead, PermAgentRead, PermJobRead, PermJobSubmit},
}

// Can reports whether role has perm.
func Can(role string, p Perm) bool { return slices.Contains(rolePerms[role], p) }

// ValidRole reports whether role exists.
func ValidRole(role string) bool { _, ok := rolePerms[role]; return ok }

// MayGrant reports whether a user of role may create or change users of
// other: only the province admin makes province admins; tenant admins make
// every other role.
func MayGrant(role, other string) bool {
	switch role {
	case RoleProvinceAdmin:
		return ValidRole(other)
	case RoleTenantAdmin:
		return ValidRole(other) && other != RoleProvinceAdmin
	}
	return false
}
