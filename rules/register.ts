/** Registers the learning rules of this folder (each defined in its own file). */
import { rules } from '../src/registries.js';
import { bp } from './bp.js';
import { brsf } from './brsf.js';
import { bptt, tbptt } from './bptt.js';
import { dfa } from './dfa.js';
import { eprop } from './eprop.js';
import { es } from './es.js';
import { fa } from './fa.js';
import { force } from './force.js';
import { frsf } from './frsf.js';
import { fullForce } from './full-force.js';
import { gevb } from './gevb.js';
import { modprop } from './modprop.js';
import { rflo } from './rflo.js';
import { usf } from './usf.js';

for (const rule of [bp, fa, dfa, usf, frsf, brsf, bptt, tbptt, eprop, rflo, modprop, gevb, force, fullForce, es]) rules.register(rule);
