import { App } from 'aws-cdk-lib';
import { buildApp } from './build-app.js';
import { selectEnvironmentConfig } from './config/index.js';

/** `npx cdk synth -c env=nonprod` / `npx cdk deploy -c env=prod`. */
const app = new App();
const { config, source } = selectEnvironmentConfig(app.node.tryGetContext('env'));
buildApp(app, config, source);
app.synth();
