import { Controller, HttpCode, Module, Post, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { PrototypedExpressAdapter } from './express-adapter';

@Controller()
class EchoController {
  @Post('echo')
  @HttpCode(200)
  echo(@Req() req: Request, @Res() res: Response): void {
    res.set('X-Seen', req.get('x-sent') ?? 'none').json({ ip: req.ip, path: req.path });
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

interface Born {
  request: boolean;
  response: boolean;
}

async function start(options: { forceCloseConnections?: boolean } = {}) {
  const app = await NestFactory.create<NestExpressApplication>(EchoModule, new PrototypedExpressAdapter(), { logger: false, ...options });
  const express = app.getHttpAdapter().getInstance() as { request: object; response: object };
  const born: Born[] = [];
  // Before Express's own listener: what node:http built, before Express touches it.
  app.getHttpServer().prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    born.push({ request: Object.getPrototypeOf(req) === express.request, response: Object.getPrototypeOf(res) === express.response });
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, born, url: `http://127.0.0.1:${port}` };
}

describe('PrototypedExpressAdapter', () => {
  it("builds each request and response with Express's prototypes, and Express serves them as usual", async () => {
    const { app, born, url } = await start();
    try {
      const answer = await fetch(`${url}/echo`, { method: 'POST', headers: { 'x-sent': 'yes' } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-seen')).toBe('yes');
      expect(await answer.json()).toEqual({ ip: '127.0.0.1', path: '/echo' });
      expect(born).toEqual([{ request: true, response: true }]);
    } finally {
      await app.close();
    }
  });

  it("keeps Nest's own server where it would need more than node:http's defaults", async () => {
    const { app, born, url } = await start({ forceCloseConnections: true });
    try {
      expect((await fetch(`${url}/echo`, { method: 'POST' })).status).toBe(200);
      expect(born).toEqual([{ request: false, response: false }]);
    } finally {
      await app.close();
    }
  });
});
