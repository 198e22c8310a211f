// The dashboard bundle's entry (built by engine/server/bundle.ts into dist/app.js).
import './phasewatch-app.js';
