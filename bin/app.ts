#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { loadEnvConfig } from '../lib/config/load';
import { ConfigError } from '../contracts/validation';

const app = new App();
try {
  const config = loadEnvConfig(app.node.getAllContext());
  buildApp(app, config);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
