import 'reflect-metadata';
import { configOrExit } from './config/app-config';

// The configuration first, with only what it needs loaded: a bad setting is reported (one line
// per variable, exit 1) before Nest and the app's modules are even read.
const config = configOrExit(process.env);
void import('./server').then(({ serve }) => serve(config));
