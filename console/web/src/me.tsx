import { createContext, useContext } from 'react';

export type Me = { id: string; tenant_id: string; username: string; role: string };
export const MeContext = createContext<Me | null>(null);
export const useMe = () => useContext(MeContext);

// Pages by role, matching internal/auth's permissions: the wallboard needs
// queue.read, the desk agent.self; everyone signed in reads records.
export const canWallboard = (r?: string) => r === 'province_admin' || r === 'tenant_admin' || r === 'supervisor';
export const canDesk = (r?: string) => r === 'agent';
export const home = (r?: string) => (canDesk(r) ? '/desk' : canWallboard(r) ? '/dashboard' : '/records');
