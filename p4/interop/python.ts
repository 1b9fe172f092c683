// Which Python runs the interop checks: $TALARIA_PYTHON when set, else the
// virtualenv that `make setup` creates with the official p4runtime package
// (build/python; Debian 12's system pip refuses global installs), else
// python3 from PATH.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SETUP_VENV = fileURLToPath(new URL('../../../build/python/bin/python3', import.meta.url));
const SETUP_VENV_FROM_SOURCE = fileURLToPath(new URL('../../build/python/bin/python3', import.meta.url));

export const PYTHON =
  process.env.TALARIA_PYTHON || [SETUP_VENV_FROM_SOURCE, SETUP_VENV].find((p) => existsSync(p)) || 'python3';
