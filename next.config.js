// Next.js renders the dashboard's pages only: the API, login and WebSockets
// are answered by vmdeck's own server (server/index.ts), which runs Next.
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // No image optimizer: the server does not serve /_next/image at all.
  images: { unoptimized: true },
};

export default nextConfig;
