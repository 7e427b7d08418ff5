#!/usr/bin/env node
// Entry point Prisma runs for `generator cacheops { provider = "prisma-cacheops-generator" }`.
import('../dist/generator/bin.js')
