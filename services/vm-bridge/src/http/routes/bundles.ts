import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** Serves the `<version>.tar.gz` bundles of `bundleDir` (hosts verify their sha256 themselves). */
export function registerBundleRoutes(app: FastifyInstance, bundleDir: string): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/bundles/:file',
    {
      schema: {
        params: z.object({ file: z.string().regex(/^[a-z0-9][-a-z0-9.~]*\.tar\.gz$/, 'a bundle file name') }),
      },
    },
    async (request, reply) => {
      const file = path.join(bundleDir, request.params.file);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat === undefined)
        return reply.status(404).send({ code: 'UNKNOWN_BUNDLE', message: `no bundle ${request.params.file}` });
      return reply
        .header('content-type', 'application/gzip')
        .header('content-length', stat.size)
        .send(createReadStream(file));
    },
  );
}
