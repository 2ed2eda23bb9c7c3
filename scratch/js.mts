import { z } from 'zod';
import { registry } from '../packages/techniques/src/index';
for (const t of registry.list()) { const s = z.toJSONSchema(t.params, { io: 'input' } as never); console.log(t.id, JSON.stringify(s).length); }
