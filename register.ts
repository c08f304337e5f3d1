/** Fills the registries with everything biocredit ships. Imported by the package entry and the CLI. */
import './analyses/register.js';
import './datasets/register.js';
import './models/register.js';
import './rules/register.js';
