// The P4Runtime roles a Talaria switch knows (Role.name in arbitration and
// in every Write; the default role is the empty name). The default role owns
// every table: the controllers hold it. READ_ONLY_ROLE owns none: the
// read-only tools open their sessions in it (server/access.ts enforces it).
export const READ_ONLY_ROLE = 'talaria.io/read-only';
export const KNOWN_ROLES: readonly string[] = ['', READ_ONLY_ROLE];
