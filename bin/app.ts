#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { ConfigError, loadEnvConfig } from '../lib/config/load';

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
